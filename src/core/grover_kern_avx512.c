/* Fused candidate kernel, AVX-512 build (called only when the CPU has AVX512F and AVX512DQ). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "grover_kern.h"

#ifdef GOPT_KERN_X86
#if defined(__clang__) /* clang: same target and contraction through its own pragmas */
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx2,fma"))), apply_to = function)
#pragma clang fp contract(fast)
#else
#pragma GCC diagnostic ignored "-Wpsabi"
#pragma GCC target("avx512f,avx512dq,avx2,fma")
#pragma GCC optimize("fp-contract=fast")
#endif
#include <immintrin.h>
#define KNAME qnn_gopt_kern_avx512
#define KW 8
#define KMB 16
#include "grover_kern_body.h"
#if defined(__clang__)
#pragma clang attribute pop
#endif
#else
void qnn_gopt_kern_avx512(const gopt_kjob *jb) { (void)jb; }
#endif
