-- fashionrec.svec: text I/O, type modifier, casts, operators, helpers, and
-- every class of invalid input.  Binary input of forged values is tested in
-- test/pgtap/content.sql (it needs COPY ... FROM PROGRAM).
SET search_path = fashionrec, public;

-- round trips
SELECT '{1:0.5,7:0.25}/10'::svec;
SELECT '{}/5'::svec;
SELECT '  { 3 : 1.5 ,  5:-2e-3 }  /  6  '::svec;      -- spaces anywhere between tokens
SELECT '{1:1,2:0,3:3}/3'::svec;                       -- explicit zeros are dropped
SELECT '{1:3.4028235e38,2:1.4e-45}/2'::svec;          -- float4 extremes survive
SELECT '{1000000000:1}/1000000000'::svec;             -- the largest dimension
-- shortest exact float4 output: text -> svec -> text is the identity
SELECT v::text = '{2:0.1,4:0.333,9:1.2345679e-20}/9' AS round_trip,
       v::text::svec::text = v::text AS stable
  FROM (SELECT '{2:0.1,4:0.333,9:1.2345679e-20}/9'::svec AS v) s;
SELECT dims('{1:1}/7'::svec), nnz('{1:1,3:0,5:2}/7'::svec), nnz('{}/7'::svec);

-- type modifier
SELECT '{1:1}/3'::svec(3);
CREATE TEMP TABLE typed (v svec(4));
INSERT INTO typed VALUES ('{4:1}/4');
INSERT INTO typed VALUES ('{1:1}/5');                  -- wrong dimension
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'typed'::regclass AND attname = 'v';
SELECT '{1:1}/3'::svec(0);
SELECT '{1:1}/3'::svec(1000000001);
SELECT '{1:1}/3'::svec(2, 3);

-- casts from and to real[]
SELECT ARRAY[0, 1.5, 0, -2]::real[]::svec;
SELECT ARRAY[0, 0, 0]::real[]::svec;
SELECT ARRAY[1, 2]::real[]::svec(2);
SELECT ARRAY[1, 2]::real[]::svec(3);
SELECT '{2:1.5,4:-2}/5'::svec::real[];
SELECT '{}/3'::svec::real[];
SELECT ARRAY[0.25, 0, 4]::real[]::svec::real[] = ARRAY[0.25, 0, 4]::real[] AS array_round_trip;
CREATE TEMP TABLE assigned (v svec);
INSERT INTO assigned VALUES (ARRAY[0, 3]::real[]);      -- assignment cast
SELECT v FROM assigned;

-- operators against hand values: a = (1, 2, 0), b = (0, 2, 3)
--   a.b = 4, |a| = sqrt 5, |b| = sqrt 13
--   cosine distance = 1 - 4 / sqrt 65 = 0.503861; -a.b = -4;
--   L2 = sqrt(1 + 0 + 9) = 3.162278
SELECT round(('{1:1,2:2}/3'::svec <=> '{2:2,3:3}/3'::svec)::numeric, 6) AS cosine,
       '{1:1,2:2}/3'::svec <#> '{2:2,3:3}/3'::svec AS neg_inner,
       round(('{1:1,2:2}/3'::svec <-> '{2:2,3:3}/3'::svec)::numeric, 6) AS l2;
-- disjoint supports, identical and opposite vectors
SELECT '{1:1}/4'::svec <=> '{2:1}/4'::svec AS orthogonal,
       '{1:3,4:4}/4'::svec <=> '{1:3,4:4}/4'::svec AS same,
       '{1:1}/4'::svec <=> '{1:-2}/4'::svec AS opposite,
       '{1:3,4:4}/4'::svec <-> '{}/4'::svec AS l2_to_zero,
       '{1:3,4:4}/4'::svec <#> '{}/4'::svec AS ip_with_zero;
-- the cosine of a zero vector is undefined
SELECT '{}/4'::svec <=> '{1:1}/4'::svec AS cosine_with_zero;
-- operators are commutative
SELECT ('{1:1,3:2}/5'::svec <=> '{3:1,5:1}/5'::svec) = ('{3:1,5:1}/5'::svec <=> '{1:1,3:2}/5'::svec) AS commutes;
SELECT '{1:1}/3'::svec <=> '{1:1}/4'::svec;
SELECT '{1:1}/3'::svec <-> '{1:1}/4'::svec;
SELECT '{1:1}/3'::svec <#> '{1:1}/4'::svec;

-- l2_normalize: (3, 4) -> (0.6, 0.8); a zero vector stays zero
SELECT l2_normalize('{1:3,5:4}/5'::svec), l2_normalize('{}/5'::svec);
SELECT round((l2_normalize('{1:1,2:1,3:1}/3'::svec) <-> '{}/3'::svec)::numeric, 6) AS unit_length;

-- malformed text: 22P02
SELECT '1:1}/3'::svec;
SELECT '{1:1/3'::svec;
SELECT '{1:1}'::svec;
SELECT '{1:1}/'::svec;
SELECT '{1:1}/3x'::svec;
SELECT '{1 1}/3'::svec;
SELECT '{:1}/3'::svec;
SELECT '{1:}/3'::svec;
SELECT '{1:abc}/3'::svec;
SELECT '{1:1,}/3'::svec;
SELECT '{-1:1}/3'::svec;
SELECT '{1:1}/-3'::svec;
SELECT ''::svec;

-- bad indices, dimensions and values: 22023
SELECT '{0:1}/3'::svec;
SELECT '{4:1}/3'::svec;
SELECT '{99999999999999999999:1}/3'::svec;
SELECT '{2:1,1:1}/3'::svec;
SELECT '{2:1,2:1}/3'::svec;
SELECT '{1:NaN}/3'::svec;
SELECT '{1:Infinity}/3'::svec;
SELECT '{1:-inf}/3'::svec;
SELECT '{}/0'::svec;
SELECT ARRAY[]::real[]::svec;
SELECT ARRAY[1, 'NaN']::real[]::svec;
-- out of float4 range: 22003
SELECT '{1:1e39}/3'::svec;
SELECT '{1:1e-50}/3'::svec;

-- limits: 54000, as pass/fail pairs
SELECT '{}/1000000000'::svec;
SELECT '{}/1000000001'::svec;
SELECT '{}/99999999999999999999'::svec;
SELECT pg_column_size('{1:1}/134217727'::svec) AS sparse_bytes;  -- a large dimension costs nothing
SELECT '{1:1}/134217728'::svec::real[];                 -- but one past the array limit cannot be dense
SELECT array_length('{5:1}/100000'::svec::real[], 1) AS dense_length;

-- NULLs
SELECT ARRAY[1, NULL]::real[]::svec;
SELECT ARRAY[[1, 2], [3, 4]]::real[]::svec;
SELECT NULL::svec <=> '{1:1}/3'::svec AS null_distance, dims(NULL::svec) AS null_dims;
