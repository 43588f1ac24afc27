/* Binary checkpoints of nets and optimizer state (format: docs/checkpoint-format.md).
 * Writers go to "<path>.tmp.<pid>" and rename() over path, so a crash never leaves a
 * half-written file under the real name. Readers load the whole file, check magic, version,
 * stored length (truncation) and the zlib CRC32 before parsing, and parse with bounds checks;
 * on any error nothing is returned. */
#ifndef QNN_CHECKPOINT_H
#define QNN_CHECKPOINT_H
#include <stddef.h>
#include <stdint.h>

#include "qnn/common.h"
#include "qnn/nn.h"
#include "qnn/optim.h"

#define QNN_CKPT_NET_MAGIC "QNN-NET"   /* 8 bytes with the terminating NUL */
#define QNN_CKPT_OPT_MAGIC "QNN-OPT"
#define QNN_CKPT_VERSION 1u
/* Net files holding a quantum layer are version 2: after the rng state, per layer a u64 length
 * and that many bytes of text description (0 for other layers; qnn_qlayer_describe). */
#define QNN_CKPT_NET_VERSION_MAX 2u

typedef struct qnn_ckpt_layer {
    char name[64];
    int kind;
    size_t in, out, nparams;
    int has_bias;
    double fparam[4];
    char *config; /* version 2: layer description (quantum layers), NULL otherwise; owned */
} qnn_ckpt_layer;

typedef struct qnn_ckpt_net {
    size_t nlayers;
    qnn_ckpt_layer *layers;
    size_t nparams;
    double *params;
    uint64_t rng[4];
} qnn_ckpt_net;

int qnn_ckpt_save_net(const qnn_net *net, const char *path, qnn_error *err);
/* Parses a net checkpoint into *out (caller frees with qnn_ckpt_net_free, also on error). */
int qnn_ckpt_read_net(const char *path, qnn_ckpt_net *out, qnn_error *err);
void qnn_ckpt_net_free(qnn_ckpt_net *c);
/* Rebuilds a net made only of built-in layers (custom layers -> QNN_ENOTFOUND). */
int qnn_ckpt_load_net(const char *path, qnn_net **out, qnn_error *err);

int qnn_ckpt_save_optim(const qnn_optim *o, const char *path, qnn_error *err);
/* *out is initialised only on success. */
int qnn_ckpt_load_optim(const char *path, qnn_optim *out, qnn_error *err);

#endif
