;; One output row of a GF(2^8) matrix product with WebAssembly SIMD, for
;; gf256.ts's mulRowInto; `npm run build:wasm` compiles it into gf256-wasm.ts.
;;
;; A product c * v splits over v's nibbles: c * v = c * (v & 15) ^ c * (v & 0xf0),
;; so two 16-entry tables per coefficient, looked up 16 bytes at a time with
;; i8x16.swizzle, replace the 256-entry table a scalar loop needs.
(module
  (memory (export "memory") 1)

  ;; out = XOR over i < k of coef_i * input_i, for `length` bytes (a multiple of
  ;; 16). Input i is at inputs + i * stride; its coefficient's tables are the 32
  ;; bytes at tables + i * 32: c * x, then c * (x << 4), for x = 0..15.
  (func (export "mulRow") (param $tables i32) (param $inputs i32) (param $k i32) (param $stride i32) (param $length i32) (param $out i32)
    (local $x i32) (local $i i32) (local $in i32) (local $t i32)
    (local $acc v128) (local $v v128) (local $lo v128) (local $hi v128)
    (local $nib v128)
    (local.set $nib (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))
    (block $done
      (loop $bytes
        (br_if $done (i32.ge_u (local.get $x) (local.get $length)))
        (local.set $acc (v128.const i64x2 0 0))
        (local.set $in (i32.add (local.get $inputs) (local.get $x)))
        (local.set $t (local.get $tables))
        (local.set $i (local.get $k))
        (block $summed
          (loop $terms
            (br_if $summed (i32.eqz (local.get $i)))
            (local.set $lo (v128.load (local.get $t)))
            (local.set $hi (v128.load offset=16 (local.get $t)))
            (local.set $v (v128.load (local.get $in)))
            (local.set $acc (v128.xor (local.get $acc)
              (v128.xor
                (i8x16.swizzle (local.get $lo) (v128.and (local.get $v) (local.get $nib)))
                (i8x16.swizzle (local.get $hi) (i8x16.shr_u (local.get $v) (i32.const 4))))))
            (local.set $in (i32.add (local.get $in) (local.get $stride)))
            (local.set $t (i32.add (local.get $t) (i32.const 32)))
            (local.set $i (i32.sub (local.get $i) (i32.const 1)))
            (br $terms)))
        (v128.store (i32.add (local.get $out) (local.get $x)) (local.get $acc))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (br $bytes)))))
