-- Network address types: inet, cidr, macaddr, macaddr8 are strings in PostgreSQL's text form
-- (abbreviated IPv6, netmask shown unless /32 or /128 for inet), arrays string arrays.
-- @set skipped.operations=none

CREATE SCHEMA net;

CREATE TABLE net.hosts (
    id     integer PRIMARY KEY,
    ip     inet,
    nw     cidr,
    mac    macaddr,
    mac8   macaddr8,
    ips    inet[],
    nws    cidr[],
    macs   macaddr[],
    mac8s  macaddr8[]
);
CREATE TABLE net.required (
    id     integer PRIMARY KEY,
    ip     inet NOT NULL,
    mac    macaddr NOT NULL
);
INSERT INTO net.required VALUES (1, '10.0.0.1', '08:00:2b:01:02:03');

-- @changes

INSERT INTO net.hosts VALUES
    (1, '192.168.0.1/24', '192.168.0.0/24', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05',
     '{10.0.0.1,10.0.0.0/8}', '{10.0.0.0/8,2001:db8::/32}', '{08-00-2B-01-02-03}', '{0800.2b01.0203.0405}'),
    (2, '2001:0db8:0000:0000:0000:0000:0000:0001/128', '::/0', 'FF:FF:FF:FF:FF:FF', '08:00:2b:01:02:03',
     '{::1,::ffff:1.2.3.4}', '{}', '{}', '{NULL}'),
    (3, '::ffff:10.1.2.3/96', '10.1/16', '0800.2b01.0203', '0800-2b01-0203-0405', NULL, NULL, NULL, NULL);
INSERT INTO net.hosts (id) VALUES (4);
DELETE FROM net.required WHERE id = 1;
