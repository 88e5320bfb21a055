-- Quoted, mixed-case and unicode identifiers: topic names keep [A-Za-z0-9._-] and replace every
-- other character (each UTF-16 unit) with '_'; source.schema/table and field names keep the
-- original spelling.
-- @set skipped.operations=none

CREATE SCHEMA "Sales Dept";
CREATE SCHEMA "ünï";

CREATE TABLE "Sales Dept"."Order Items" (
    "Id"          integer PRIMARY KEY,
    "Unit Price"  numeric(8,2),
    "ä-ö"         text,
    "select"      text,
    "a.b"         integer,
    "😀"          text
);
CREATE TABLE "ünï"."tâble.with.dots" (
    "KEY"  text PRIMARY KEY,
    v      integer
);
CREATE TABLE public."$weird#name%" (
    id  integer PRIMARY KEY
);
CREATE TABLE public.a_very_long_table_name_that_is_exactly_sixty_three_characters_x (
    id  integer PRIMARY KEY
);

-- @changes

INSERT INTO "Sales Dept"."Order Items" VALUES (1, 9.99, 'umlaut', 'keyword', 7, 'emoji');
UPDATE "Sales Dept"."Order Items" SET "Unit Price" = 10 WHERE "Id" = 1;
INSERT INTO "ünï"."tâble.with.dots" VALUES ('K1', 1);
DELETE FROM "ünï"."tâble.with.dots" WHERE "KEY" = 'K1';
INSERT INTO public."$weird#name%" VALUES (1);
INSERT INTO public.a_very_long_table_name_that_is_exactly_sixty_three_characters_x VALUES (1);
