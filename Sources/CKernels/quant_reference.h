// Shared by the naive references of quant_gemm.c and quant_interleaved.c (internal, not API).
#ifndef CK_QUANT_REFERENCE_H
#define CK_QUANT_REFERENCE_H

#include "CKernels.h"

// Column j of the double-precision reference product: c[i * n + j] = Σ_t x_i[t] · wrow[t] for
// every activation row i < m, where x_i is row i of `a` (stride lda) or, when `aq` is given, that
// row's 8-bit blocks dequantized into `arow` (k floats of scratch).
void ck_ref_column(int m, int n, int k, const float *a, long lda, const ck_q8_block *aq, const float *wrow,
                   float *arow, int j, double *c);

#endif
