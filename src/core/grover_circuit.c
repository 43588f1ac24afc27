/* Gate-level Grover circuits built as qnn Circuits, and the engine that runs them on a State
 * or (with noise) a Density. See include/qnn/grover.h. */
#include <stdlib.h>
#include <string.h>

#include "qnn/circuit.h"
#include "qnn/density.h"
#include "qnn/grover.h"
#include "qnn/statevec.h"

int qnn_grover_form_qubits(qnn_grover_form form, int n) {
    return form == QNN_GROVER_TEXTBOOK ? n : n + 1;
}

static int check_form(qnn_circuit *c, int n, qnn_grover_form form, qnn_error *err) {
    if (!c) return qnn_error_set(err, QNN_EINVAL, "grover: NULL circuit");
    if (form != QNN_GROVER_TEXTBOOK && form != QNN_GROVER_ANCILLA && form != QNN_GROVER_PAPER)
        return qnn_error_set(err, QNN_EINVAL, "grover: unknown circuit form %d", (int)form);
    if (n < 1 || n > QNN_GROVER_MAX_QUBITS)
        return qnn_error_set(err, QNN_EINVAL, "grover: n must be in [1, %d], got %d",
                             QNN_GROVER_MAX_QUBITS, n);
    int need = qnn_grover_form_qubits(form, n);
    if (qnn_circuit_nqubits(c) < need)
        return qnn_error_set(err, QNN_EINVAL,
                             "grover: circuit has %d qubits, the form needs %d",
                             qnn_circuit_nqubits(c), need);
    return QNN_OK;
}

int qnn_grover_add_prep(qnn_circuit *c, int n, qnn_grover_form form, qnn_error *err) {
    int rc = check_form(c, n, form, err);
    for (int q = 0; q < n && !rc; q++) rc = qnn_circuit_gate1(c, QNN_G_H, q, err);
    if (!rc && form != QNN_GROVER_TEXTBOOK) {
        rc = qnn_circuit_gate1(c, QNN_G_X, n, err);
        if (!rc) rc = qnn_circuit_gate1(c, QNN_G_H, n, err);
    }
    return rc;
}

/* X on the zero bits of x (pattern match before and after a multi-controlled gate). */
static int flip_zeros(qnn_circuit *c, int n, size_t x, qnn_error *err) {
    for (int q = 0; q < n; q++)
        if (!((x >> q) & 1)) {
            int rc = qnn_circuit_gate1(c, QNN_G_X, q, err);
            if (rc) return rc;
        }
    return QNN_OK;
}

/* Multi-controlled flip of the ancilla by the whole register: MCX (phase kickback with the
 * ancilla in |->) or H-MCX-H (controlled Z on the ancilla, the authors' form). */
static int reg_to_anc(qnn_circuit *c, int n, int *ctrl, qnn_grover_form form, qnn_error *err) {
    int rc = QNN_OK;
    if (form == QNN_GROVER_PAPER) rc = qnn_circuit_gate1(c, QNN_G_H, n, err);
    if (!rc) rc = qnn_circuit_mcx(c, ctrl, n, n, err);
    if (!rc && form == QNN_GROVER_PAPER) rc = qnn_circuit_gate1(c, QNN_G_H, n, err);
    return rc;
}

int qnn_grover_add_oracle(qnn_circuit *c, int n, const unsigned char *mask, qnn_grover_form form,
                          qnn_error *err) {
    int rc = check_form(c, n, form, err);
    if (rc) return rc;
    if (!mask) return qnn_error_set(err, QNN_EINVAL, "grover: NULL mask");
    size_t N = (size_t)1 << n;
    if (form == QNN_GROVER_TEXTBOOK) {
        if (qnn_circuit_nqubits(c) != n)
            return qnn_error_set(err, QNN_EINVAL,
                                 "grover: the diagonal oracle needs a %d-qubit circuit", n);
        double *ph = (double *)malloc(N * sizeof *ph);
        if (!ph) return qnn_error_set(err, QNN_ENOMEM, "grover: out of memory");
        for (size_t x = 0; x < N; x++) ph[x] = mask[x] ? 3.14159265358979323846 : 0.0;
        rc = qnn_circuit_diagonal(c, ph, err);
        free(ph);
        return rc;
    }
    int ctrl[64];
    for (int q = 0; q < n; q++) ctrl[q] = q;
    for (size_t x = 0; x < N && !rc; x++) {
        if (!mask[x]) continue;
        rc = flip_zeros(c, n, x, err);
        if (!rc) rc = reg_to_anc(c, n, ctrl, form, err);
        if (!rc) rc = flip_zeros(c, n, x, err);
    }
    return rc;
}

int qnn_grover_add_diffusion(qnn_circuit *c, int n, qnn_grover_form form, qnn_error *err) {
    int rc = check_form(c, n, form, err);
    int q[64];
    for (int i = 0; i < n; i++) q[i] = i;
    for (int i = 0; i < n && !rc; i++) rc = qnn_circuit_gate1(c, QNN_G_H, i, err);
    for (int i = 0; i < n && !rc; i++) rc = qnn_circuit_gate1(c, QNN_G_X, i, err);
    if (!rc) {
        if (form == QNN_GROVER_TEXTBOOK) rc = qnn_circuit_mcz(c, q, n, err);
        else rc = reg_to_anc(c, n, q, form, err);
    }
    for (int i = 0; i < n && !rc; i++) rc = qnn_circuit_gate1(c, QNN_G_X, i, err);
    for (int i = 0; i < n && !rc; i++) rc = qnn_circuit_gate1(c, QNN_G_H, i, err);
    return rc;
}

int qnn_grover_build(qnn_circuit **out, int n, const unsigned char *mask, int k,
                     qnn_grover_form form, qnn_error *err) {
    if (!out) return qnn_error_set(err, QNN_EINVAL, "grover: NULL output");
    *out = NULL;
    if (n < 1 || n > QNN_GROVER_MAX_QUBITS)
        return qnn_error_set(err, QNN_EINVAL, "grover: n must be in [1, %d], got %d",
                             QNN_GROVER_MAX_QUBITS, n);
    if (k < 0) return qnn_error_set(err, QNN_EINVAL, "grover: iterations must be >= 0, got %d", k);
    qnn_circuit *c = NULL;
    int rc = qnn_circuit_new(&c, qnn_grover_form_qubits(form, n), err);
    if (rc) return rc;
    rc = qnn_grover_add_prep(c, n, form, err);
    for (int i = 0; i < k && !rc; i++) {
        rc = qnn_grover_add_oracle(c, n, mask, form, err);
        if (!rc) rc = qnn_grover_add_diffusion(c, n, form, err);
    }
    if (rc) {
        qnn_circuit_free(c);
        return rc;
    }
    *out = c;
    return QNN_OK;
}

int qnn_grover_circuit_cost(int n, const unsigned char *mask, int k, qnn_grover_form form,
                            int *depth, size_t *gates, int *qubits, qnn_error *err) {
    qnn_circuit *c = NULL;
    int rc = qnn_grover_build(&c, n, mask, k, form, err);
    if (rc) return rc;
    if (depth) *depth = qnn_circuit_depth(c);
    if (gates) *gates = qnn_circuit_ngates(c);
    if (qubits) *qubits = qnn_circuit_nqubits(c);
    qnn_circuit_free(c);
    return QNN_OK;
}

void qnn_noise_readout(double *probs, int n, double e) {
    size_t N = (size_t)1 << n;
    for (int q = 0; q < n; q++) {
        size_t b = (size_t)1 << q;
        for (size_t x = 0; x < N; x++)
            if (!(x & b)) {
                double p0 = probs[x], p1 = probs[x | b];
                probs[x] = (1 - e) * p0 + e * p1;
                probs[x | b] = (1 - e) * p1 + e * p0;
            }
    }
}

int qnn_grover_circuit_probs(void *ud, int n, const unsigned char *mask, int k, double *probs,
                             qnn_error *err) {
    qnn_grover_circuit_engine *ce = (qnn_grover_circuit_engine *)ud;
    if (!ce || !probs) return qnn_error_set(err, QNN_EINVAL, "grover: NULL engine or probs");
    int noisy = ce->noise && !qnn_noise_is_zero(ce->noise);
    if (ce->noise) {
        int rc = qnn_noise_check(ce->noise, err);
        if (rc) return rc;
    }
    int nq = qnn_grover_form_qubits(ce->form, n);
    if ((noisy || ce->density) && nq > QNN_DENSITY_MAX_QUBITS)
        return qnn_error_set(err, QNN_EINVAL,
                             "grover: a Density run allows at most %d qubits (register + "
                             "ancilla), got %d", QNN_DENSITY_MAX_QUBITS, nq);
    qnn_circuit *c = NULL;
    int rc = qnn_grover_build(&c, n, mask, k, ce->form, err);
    if (rc) return rc;
    qnn_noise gate_noise;
    const qnn_noise *run_noise = ce->noise;
    if (ce->noise) {
        gate_noise = *ce->noise;
        gate_noise.readout = 0; /* applied to the outcomes below */
        run_noise = &gate_noise;
        if (ce->noise->native) {
            /* count and run the native circuit (1-qubit gates + CX) */
            qnn_circuit *nat = NULL;
            rc = qnn_circuit_decompose(c, &nat, err);
            qnn_circuit_free(c);
            if (rc) return rc;
            c = nat;
            gate_noise.native = 0;
        }
    }
    ce->depth = qnn_circuit_depth(c);
    ce->gates = qnn_circuit_ngates(c);
    ce->qubits = nq;
    size_t N = (size_t)1 << n, D = (size_t)1 << nq;
    double *full = (double *)malloc(D * sizeof *full);
    if (!full) {
        qnn_circuit_free(c);
        return qnn_error_set(err, QNN_ENOMEM, "grover: out of memory");
    }
    if (noisy || ce->density) {
        qnn_density d;
        rc = qnn_density_init(&d, nq, err);
        if (!rc) {
            rc = qnn_circuit_run_density(c, &d, run_noise, err);
            if (!rc) qnn_density_probs(&d, full);
            qnn_density_release(&d);
        }
    } else {
        qnn_state s;
        rc = qnn_state_init(&s, nq, err);
        if (!rc) {
            rc = qnn_circuit_run(c, &s, NULL, NULL, err);
            if (!rc) qnn_state_probs(&s, full);
            qnn_state_release(&s);
        }
    }
    if (!rc) {
        for (size_t x = 0; x < N; x++) probs[x] = full[x];
        for (size_t x = N; x < D; x++) probs[x - N] += full[x]; /* sum over the ancilla */
        if (ce->noise && ce->noise->readout > 0) qnn_noise_readout(probs, n, ce->noise->readout);
    }
    free(full);
    qnn_circuit_free(c);
    return rc;
}
