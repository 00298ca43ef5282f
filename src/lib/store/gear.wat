;; The gear loop of FastCDC for chunker.ts; `npm run build:wasm` compiles it
;; into gear-wasm.ts. V8 runs the same loop written in JavaScript at about a
;; quarter of this speed (bounds checks and tagged values on every byte).
;;
;; Memory: the 256-entry gear table (i32, little-endian) at 0; the bytes to
;; scan anywhere after it, placed there by chunker.ts.
(module
  (memory (export "memory") 1)

  ;; The hash where the last scan stopped without a cut, for the next window.
  (global $hash (export "hash") (mut i32) (i32.const 0))

  ;; Rolls hash = (hash << 1) + gear[byte] over the bytes at p.. and returns the
  ;; address just past the first byte after which hash & mask is 0, where mask
  ;; is maskS before `barrier` and maskL from there to `end` (FastCDC's
  ;; normalized chunking). Returns 0 when there is none, with the hash in $hash.
  (func (export "cut") (param $p i32) (param $barrier i32) (param $end i32) (param $h i32) (param $maskS i32) (param $maskL i32) (result i32)
    (block $small
      (loop $strict
        (br_if $small (i32.ge_u (local.get $p) (local.get $barrier)))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
                               (i32.load (i32.shl (i32.load8_u (local.get $p)) (i32.const 2)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br_if $strict (i32.and (local.get $h) (local.get $maskS)))
        (return (local.get $p))))
    (block $large
      (loop $loose
        (br_if $large (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
                               (i32.load (i32.shl (i32.load8_u (local.get $p)) (i32.const 2)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br_if $loose (i32.and (local.get $h) (local.get $maskL)))
        (return (local.get $p))))
    (global.set $hash (local.get $h))
    (i32.const 0))
)
