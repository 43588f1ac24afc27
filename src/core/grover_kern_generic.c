/* Fused candidate kernel, portable build (whatever the compiler targets; SSE2 on x86-64). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "grover_kern.h"

#ifdef GOPT_KERN_VEC
#pragma GCC diagnostic ignored "-Wpsabi"
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#define KNAME qnn_gopt_kern_generic
#define KW 2
#define KMB 8
#include "grover_kern_body.h"
#else
void qnn_gopt_kern_generic(const gopt_kjob *jb) { (void)jb; }
#endif
