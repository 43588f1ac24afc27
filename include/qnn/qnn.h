/* Umbrella header for the qnnlab C core (lib/libqnn.a). */
#ifndef QNN_QNN_H
#define QNN_QNN_H
#include "qnn/common.h"
#include "qnn/rng.h"
#endif
