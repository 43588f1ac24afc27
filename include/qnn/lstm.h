/* LSTM layer for qnn_net (a custom layer through the qnn_layer_vtable extension point).
 *
 * Input: B x (T * in), row b = x_1 .. x_T (each `in` values, time-major), T = steps.
 * Output: B x hidden = h_T, the hidden state after the last step (h_0 = c_0 = 0).
 * Gates (PyTorch order i, f, g, o) with ONE bias per gate (PyTorch has two, b_ih + b_hh):
 *   z = x_t Wx + h_{t-1} Wh + b;  i = sigmoid(z_i), f = sigmoid(z_f), g = tanh(z_g),
 *   o = sigmoid(z_o);  c_t = f c_{t-1} + i g;  h_t = o tanh(c_t).
 * Parameters (nparams = 4H (in + H) + 4H), in this order in the layer's slice:
 *   Wx: in x 4H row-major (Wx[k*4H + j], j = gate*H + unit), Wh: H x 4H, b: 4H.
 * LSTM(1 -> 20) has 4*(20*(1+20)+20) = 1,760 weights. Init: U(-1/sqrt(H), 1/sqrt(H)) (PyTorch).
 * Backward: full backprop through time over the T steps of the last forward.
 * Checkpoints: vt name "lstm", fparam = {in, steps, hidden, 0}. */
#ifndef QNN_LSTM_H
#define QNN_LSTM_H
#include <stddef.h>

#include "qnn/nn.h"

extern const qnn_layer_vtable qnn_layer_lstm_vt;

static inline size_t qnn_lstm_nparams(size_t in, size_t hidden) {
    return 4 * hidden * (in + hidden) + 4 * hidden;
}
/* Appends an LSTM layer (in >= 1, steps >= 1, hidden >= 1, all <= 2^20). Returns the layer
 * index or a negative status. */
int qnn_net_add_lstm(qnn_net *net, size_t in, size_t steps, size_t hidden, qnn_error *err);

#endif
