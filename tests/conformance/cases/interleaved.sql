-- Interleaved sessions: two transactions open at once (the second through dblink, a separate
-- session), committed in the opposite order of their first changes; events come in commit order,
-- each transaction whole, and a rolled-back concurrent transaction leaves nothing.
-- @set skipped.operations=none

CREATE EXTENSION dblink;
CREATE SCHEMA il;
CREATE TABLE il.log (
    id     integer PRIMARY KEY,
    who    text
);

-- @changes

SELECT dblink_connect('other', format('host=127.0.0.1 port=%s dbname=%s user=%s',
    current_setting('port'), current_database(), current_user));
SELECT dblink_connect('third', format('host=127.0.0.1 port=%s dbname=%s user=%s',
    current_setting('port'), current_database(), current_user));
BEGIN;
INSERT INTO il.log VALUES (1, 'main first');
SELECT dblink_exec('other', 'BEGIN');
SELECT dblink_exec('other', 'INSERT INTO il.log VALUES (2, ''other first'')');
SELECT dblink_exec('third', 'BEGIN');
SELECT dblink_exec('third', 'INSERT INTO il.log VALUES (4, ''third, rolled back'')');
INSERT INTO il.log VALUES (3, 'main second');
SELECT dblink_exec('other', 'UPDATE il.log SET who = ''other second'' WHERE id = 2');
SELECT dblink_exec('other', 'COMMIT');
SELECT dblink_exec('third', 'ROLLBACK');
UPDATE il.log SET who = 'main third' WHERE id = 1;
COMMIT;
SELECT dblink_disconnect('other');
SELECT dblink_disconnect('third');
