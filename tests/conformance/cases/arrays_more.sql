-- Arrays beyond arrays.sql: NULL elements in every position, empty strings and quoting, explicit
-- lower bounds ('[0:1]={…}'), numeric(p,s)[] rescaled to the column scale, bool/float/char/"char"
-- arrays, arrays of enums without NULLs, and long arrays.
-- @set skipped.operations=none

CREATE SCHEMA am;
CREATE TYPE am.color AS ENUM ('red', 'green');

CREATE TABLE am.lists (
    id     integer PRIMARY KEY,
    i4     integer[],
    t      text[],
    n2     numeric(6,2)[],
    nf     numeric[],
    b      boolean[],
    f8     double precision[],
    ch     "char"[],
    bp     char(2)[],
    vc     varchar[],
    col    am.color[],
    js     jsonb[]
);

-- @changes

INSERT INTO am.lists VALUES
    (1, '{NULL,NULL}', '{NULL,"",NULL," "}', '{1,2.5,NULL,-0.01}', '{1.50,100,NULL,0.000}', '{NULL}', '{0,-0,1e-300}',
     '{a,"\""}', '{a,bb}', '{"{}","a,b","\\",NULL}', '{green,red,green}', '{"{}","[]","null","1"}'),
    (2, '[0:1]={5,6}', '[-2:-1]={x,y}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}'),
    (3, (SELECT array_agg(g) FROM generate_series(1, 200) g), '{"with\nnewline","tab\there"}', '{99.99}',
     '{-1e-10,1e20}', '{t,t,f}', '{Infinity,-Infinity,NaN}', '{NULL}', '{NULL," "}', '{}', '{}', '{NULL}');
UPDATE am.lists SET i4 = '{7}' WHERE id = 2;
