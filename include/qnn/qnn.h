/* Umbrella header for the qnnlab C core: the whole public API (libqnn.a / libqnn.so).
 * Build against an installed copy with: cc prog.c $(pkg-config --cflags --libs qnn) */
#ifndef QNN_QNN_H
#define QNN_QNN_H
#ifdef __cplusplus
extern "C" {
#endif
#include "qnn/anneal_train.h"
#include "qnn/blas.h"
#include "qnn/checkpoint.h"
#include "qnn/circuit.h"
#include "qnn/common.h"
#include "qnn/data.h"
#include "qnn/density.h"
#include "qnn/fileio.h"
#include "qnn/gates.h"
#include "qnn/grover.h"
#include "qnn/grover_optim.h"
#include "qnn/ising.h"
#include "qnn/lstm.h"
#include "qnn/nn.h"
#include "qnn/optim.h"
#include "qnn/qlayer.h"
#include "qnn/qt.h"
#include "qnn/qubit_act.h"
#include "qnn/rng.h"
#include "qnn/statevec.h"
#include "qnn/tensor.h"
#ifdef __cplusplus
}
#endif
#endif
