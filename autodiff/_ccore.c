/* autodiff._ccore: the optional C core of the eager engine.
 *
 * It works on the very nodes the pure-Python engine builds (autodiff/value.py: a Value with
 * __slots__; this file reads and writes those slots at the offsets Python gave them), and
 * takes over only the hot paths:
 *
 *   - building a node for  + - * / ** (number exponent), unary -, exp log tanh sigmoid relu
 *     leaky_relu elu sign step abs, autodiff.sum and autodiff.dot;
 *   - plain backward(): the topological sort and the chain rule.
 *
 * Everything else goes through the Python code, which stays the reference: whenever an
 * operand is not an exact Value or a plain int/float, a result is NaN or infinite, a domain
 * error is possible (x / 0, log 0, 0 ** -1, ...), no_grad is active somewhere, a node has
 * hooks, or a node was made by an op this file does not know, the call is handed to the
 * Python function it replaces, with the same arguments, so every named error, every NaN
 * check and every message is exactly the Python one.  Numbers are bitwise equal to Python's:
 * the same IEEE operations in the same order (compiled with -ffp-contract=off, so no fused
 * multiply-add), the same libm functions CPython's math module calls.
 *
 * Each forward and each local partial below cites the autodiff.ops.OPS entry it mirrors
 * (autodiff/ops.py); tests/test_engine_ccore.py walks OPS and checks each op either runs here
 * bitwise equal to Python or falls back.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------ the node layout */

static PyTypeObject *ValueType = NULL;          /* autodiff.value.Value (exact type only) */
static Py_ssize_t OFF_DATA, OFF_GRAD, OFF_LABEL, OFF_PARAM, OFF_OP, OFF_INPUTS, OFF_ATTR,
    OFF_GROUP, OFF_HOOKS, OFF_STAMP;
static PyObject *CLOCK = NULL;  /* autodiff.staleness.CLOCK, a list holding the write clock */
static PyObject *NO_STAMP = NULL;  /* value.NO_STAMP: a leaf's stamp (+inf) */
#define SLOT(o, off) (*(PyObject **)((char *)(o) + (off)))

static PyObject *VALUE_GLOBALS = NULL;  /* autodiff.value's namespace: ALL_RECORDING */
static PyObject *STR_ALL_RECORDING = NULL, *STR_LEAF_HOOKS = NULL, *EMPTY_STR = NULL;
static PyObject *ZERO = NULL;           /* the float 0.0 a new node's grad starts from */
static PyObject *ONE = NULL, *MINUS_ONE = NULL;

/* The kernels this file implements, by code; OP_NAMES are their ids (the op table's
 * Op.c_kernel), OP_OBJ the Op entries that name them (given to install). */
enum {
    OP_DOT, OP_RELU, OP_MUL, OP_ADD, OP_SUM, OP_SUB, OP_TANH, OP_SIGMOID, OP_POW, OP_DIV,
    OP_NEG, OP_EXP, OP_LOG, OP_LEAKY, OP_ELU, OP_SIGN, OP_STEP, OP_ABS, N_OPS
};
static const char *OP_NAMES[N_OPS] = {
    "dot", "relu", "mul", "add", "sum", "sub", "tanh", "sigmoid", "pow", "div",
    "neg", "exp", "log", "leaky_relu", "elu", "sign", "step", "abs"};
static PyObject *OP_OBJ[N_OPS];

/* The Python functions each fast path replaces (called unchanged on fallback). */
enum {
    PY_ADD, PY_RADD, PY_SUB, PY_RSUB, PY_MUL, PY_RMUL, PY_DIV, PY_RDIV, PY_POW, PY_NEG,
    PY_EXP, PY_LOG, PY_TANH, PY_SIGMOID, PY_RELU, PY_LEAKY, PY_ELU, PY_SIGN, PY_STEP, PY_ABS,
    PY_SUMFN, PY_DOTFN, N_PY
};
static const char *PY_NAMES[N_PY] = {
    "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
    "__rtruediv__", "__pow__", "__neg__", "exp", "log", "tanh", "sigmoid", "relu", "leaky_relu",
    "elu", "sign", "step", "abs", "sum", "dot"};
static PyObject *PY_FN[N_PY];

static int installed = 0;

/* ------------------------------------------------------------------ small helpers */

/* The data of an exact Value holding a float; 0 if it is anything else. */
static inline int value_data(PyObject *v, double *out)
{
    if (Py_TYPE(v) != ValueType)
        return 0;
    PyObject *f = SLOT(v, OFF_DATA);
    if (f == NULL || !PyFloat_CheckExact(f))
        return 0;
    *out = PyFloat_AS_DOUBLE(f);
    return 1;
}

/* A plain number as Python's _check_number reads it (exact float or exact int, never bool);
 * 0 for anything else, or an int too large for a float (Python then names the error). */
static inline int plain_number(PyObject *o, double *out)
{
    if (PyFloat_CheckExact(o)) {
        *out = PyFloat_AS_DOUBLE(o);
        return 1;
    }
    if (PyLong_CheckExact(o)) {
        double d = PyLong_AsDouble(o);
        if (d == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
        *out = d;
        return 1;
    }
    return 0;
}

/* True while no thread is inside no_grad (value.py's ALL_RECORDING). */
static inline int all_recording(void)
{
    PyObject *flag = PyDict_GetItemWithError(VALUE_GLOBALS, STR_ALL_RECORDING);
    return flag == Py_True;
}

/* An op node's stamp (autodiff/staleness.py): the write clock, or the oldest stamp among its
 * op operands (borrowed). Operands made by this file or by value.py all share the clock's int
 * while nothing is written, so the usual case is one pointer comparison per operand. */
static PyObject *stamp_of(PyObject *inputs)
{
    PyObject *stamp = PyList_GET_ITEM(CLOCK, 0);
    Py_ssize_t n = PyTuple_GET_SIZE(inputs);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *in = PyTuple_GET_ITEM(inputs, i);
        if (!PyObject_TypeCheck(in, ValueType))
            continue;
        PyObject *s = SLOT(in, OFF_STAMP);
        if (s == NULL || s == NO_STAMP || s == stamp)
            continue;
        if (PyLong_CheckExact(s) && PyLong_CheckExact(stamp)) {
            int overflow_s, overflow_t;
            long long a = PyLong_AsLongLongAndOverflow(s, &overflow_s);
            long long b = PyLong_AsLongLongAndOverflow(stamp, &overflow_t);
            if (!overflow_s && !overflow_t && a < b)
                stamp = s;
        }
    }
    return stamp;
}

/* A new Value with every slot value.py's _node sets (data, grad 0.0, label "", param False,
 * op, inputs, attr, group None, hooks None); steals `f` (the data, a float) and `inputs`,
 * borrows `op` and `attr`. */
static PyObject *new_value_from(PyObject *f, PyObject *op, PyObject *inputs, PyObject *attr)
{
    if (f == NULL) {
        Py_DECREF(inputs);
        return NULL;
    }
    PyObject *v = ValueType->tp_alloc(ValueType, 0);
    if (v == NULL) {
        Py_DECREF(f);
        Py_DECREF(inputs);
        return NULL;
    }
    SLOT(v, OFF_DATA) = f;
    SLOT(v, OFF_GRAD) = Py_NewRef(ZERO);
    SLOT(v, OFF_LABEL) = Py_NewRef(EMPTY_STR);
    SLOT(v, OFF_PARAM) = Py_NewRef(Py_False);
    SLOT(v, OFF_OP) = Py_NewRef(op);
    SLOT(v, OFF_INPUTS) = inputs;
    SLOT(v, OFF_ATTR) = Py_NewRef(attr);
    SLOT(v, OFF_GROUP) = Py_NewRef(Py_None);
    SLOT(v, OFF_HOOKS) = Py_NewRef(Py_None);
    SLOT(v, OFF_STAMP) = Py_NewRef(op == Py_None ? NO_STAMP : stamp_of(inputs));
    return v;
}

static PyObject *new_value(double data, PyObject *op, PyObject *inputs, PyObject *attr)
{
    return new_value_from(PyFloat_FromDouble(data), op, inputs, attr);
}

/* A constant leaf for a number operand (value.py's _as_value). */
static PyObject *constant(double d)
{
    PyObject *none = PyTuple_New(0);
    return none ? new_value(d, Py_None, none, Py_None) : NULL;
}

/* An operand as a Value: an exact Value passes through, a number becomes a constant (holding
 * that very float when it is one, as Python's float(x) gives x back). */
static PyObject *as_operand(PyObject *o, double d)
{
    if (Py_TYPE(o) == ValueType)
        return Py_NewRef(o);
    if (PyFloat_CheckExact(o)) {
        PyObject *none = PyTuple_New(0);
        return none ? new_value_from(Py_NewRef(o), Py_None, none, Py_None) : NULL;
    }
    return constant(d);
}

static PyObject *fallback1(int which, PyObject *self)
{
    return PyObject_CallOneArg(PY_FN[which], self);
}

static PyObject *fallback2(int which, PyObject *self, PyObject *other)
{
    PyObject *args[2] = {self, other};
    return PyObject_Vectorcall(PY_FN[which], args, 2, NULL);
}

/* CPython's float_pow (Objects/floatobject.c) for finite iv, iw: 1 and *out = iv ** iw where
 * Python returns a finite float; 0 where Python raises, returns a complex number, or the
 * result is not finite (the caller then lets Python decide). */
#define DOUBLE_IS_ODD_INTEGER(x) (fmod(fabs(x), 2.0) == 1.0)
static int py_float_pow(double iv, double iw, double *out)
{
    int negate = 0;
    if (!isfinite(iv) || !isfinite(iw))
        return 0;
    if (iw == 0) {
        *out = 1.0;
        return 1;
    }
    if (iv == 0.0) {
        if (iw < 0.0)
            return 0;                                   /* ZeroDivisionError */
        *out = DOUBLE_IS_ODD_INTEGER(iw) ? iv : 0.0;    /* the sign of -0.0 for odd iw */
        return 1;
    }
    if (iv < 0.0) {
        if (iw != floor(iw))
            return 0;                                   /* complex in Python */
        iv = -iv;
        negate = DOUBLE_IS_ODD_INTEGER(iw);
    }
    if (iv == 1.0) {
        *out = negate ? -1.0 : 1.0;
        return 1;
    }
    errno = 0;
    double ix = pow(iv, iw);
    if (errno != 0 && !(errno == ERANGE && ix == 0.0))
        return 0;                                       /* OverflowError / ValueError */
    if (!isfinite(ix))
        return 0;
    *out = negate ? -ix : ix;
    return 1;
}

/* ops.py _sigmoid: σ(x) = 1 / (1 + e^(−x)) for x ≥ 0, eˣ / (1 + eˣ) otherwise */
static inline double sigmoid(double x)
{
    if (x >= 0.0)
        return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

/* ------------------------------------------------------------------ node construction */

/* OPS["add"], OPS["sub"], OPS["mul"], OPS["div"] forwards: a + b, a − b, a · b, a / b.  `which` is the Python
 * method called on fallback; `swap` when self is the right operand (__radd__ and friends). */
static PyObject *binary(int op, int which, int swap, PyObject *self, PyObject *other)
{
    double x, y, r;
    PyObject *lhs = swap ? other : self, *rhs = swap ? self : other;
    if (!value_data(self, swap ? &y : &x))
        return fallback2(which, self, other);
    if (Py_TYPE(other) == ValueType) {
        if (swap || !value_data(other, swap ? &x : &y))
            return fallback2(which, self, other);       /* __rop__ only ever gets numbers */
    }
    else if (!plain_number(other, swap ? &x : &y))
        return fallback2(which, self, other);
    switch (op) {
    case OP_ADD: r = x + y; break;
    case OP_SUB: r = x - y; break;
    case OP_MUL: r = x * y; break;
    default:
        if (y == 0.0)
            return fallback2(which, self, other);       /* Python names the division by zero */
        r = x / y;
    }
    if (!isfinite(r) || !all_recording())
        return fallback2(which, self, other);           /* NaN/inf checks; no_grad */
    PyObject *a = as_operand(lhs, x);
    if (a == NULL)
        return NULL;
    PyObject *b = as_operand(rhs, y);
    if (b == NULL) {
        Py_DECREF(a);
        return NULL;
    }
    PyObject *inputs = PyTuple_New(2);
    if (inputs == NULL) {
        Py_DECREF(a);
        Py_DECREF(b);
        return NULL;
    }
    PyTuple_SET_ITEM(inputs, 0, a);
    PyTuple_SET_ITEM(inputs, 1, b);
    return new_value(r, OP_OBJ[op], inputs, Py_None);
}

#define BINARY_METHOD(name, op, which, swap)                        \
    static PyObject *name(PyObject *self, PyObject *other)          \
    {                                                               \
        return binary(op, which, swap, self, other);                \
    }
BINARY_METHOD(v_add, OP_ADD, PY_ADD, 0)
BINARY_METHOD(v_radd, OP_ADD, PY_RADD, 1)
BINARY_METHOD(v_sub, OP_SUB, PY_SUB, 0)
BINARY_METHOD(v_rsub, OP_SUB, PY_RSUB, 1)
BINARY_METHOD(v_mul, OP_MUL, PY_MUL, 0)
BINARY_METHOD(v_rmul, OP_MUL, PY_RMUL, 1)
BINARY_METHOD(v_div, OP_DIV, PY_DIV, 0)
BINARY_METHOD(v_rdiv, OP_DIV, PY_RDIV, 1)

/* The forward of a one-input op at x (attr: the op's constant); 0 when Python must decide. */
static int unary_forward(int op, double x, double attr, double *r)
{
    switch (op) {
    case OP_NEG: *r = -x; break;                                    /* OPS["neg"]: −a */
    case OP_EXP: *r = exp(x); break;                                /* OPS["exp"]: eᵃ */
    case OP_LOG:                                                    /* OPS["log"]: ln a */
        if (!(x > 0.0))
            return 0;
        *r = log(x);
        break;
    case OP_TANH: *r = tanh(x); break;                              /* OPS["tanh"] */
    case OP_SIGMOID: *r = sigmoid(x); break;                        /* OPS["sigmoid"] */
    case OP_RELU: *r = !(x <= 0.0) ? x : 0.0; break;                /* OPS["relu"] (NaN stays) */
    case OP_LEAKY: *r = x > 0.0 ? x : attr * x; break;              /* OPS["leaky_relu"] */
    case OP_ELU: *r = x > 0.0 ? x : attr * expm1(x); break;         /* OPS["elu"]: _elu */
    case OP_SIGN: *r = x >= 0.0 ? 1.0 : (x < 0.0 ? -1.0 : x); break;  /* OPS["sign"] */
    case OP_STEP: *r = x > 0.0 ? 1.0 : (x <= 0.0 ? 0.0 : x); break;   /* OPS["step"] */
    case OP_ABS: *r = fabs(x); break;                               /* OPS["abs"] */
    case OP_POW:                                                    /* OPS["pow"]: _real_pow */
        if (!py_float_pow(x, attr, r))
            return 0;
        break;
    default:
        return 0;
    }
    return isfinite(*r);
}

/* A one-input node; attr_obj is the float stored as the node's attr (NULL: None). */
static PyObject *unary(int op, PyObject *self, double attr, PyObject *attr_obj)
{
    double x, r;
    if (!value_data(self, &x) || !unary_forward(op, x, attr, &r) || !all_recording())
        return NULL;   /* caller falls back */
    PyObject *inputs = PyTuple_New(1);
    if (inputs == NULL)
        return NULL;
    PyTuple_SET_ITEM(inputs, 0, Py_NewRef(self));
    /* Where the Python forward returns its input or a constant (relu, leaky_relu, elu for
     * x > 0; relu, sign, step otherwise) the node shares that float, as in Python: no new
     * float, so a node costs the same memory as the pure-Python engine's. */
    PyObject *f;
    if (((op == OP_LEAKY || op == OP_ELU) && x > 0.0) || (op == OP_RELU && !(x <= 0.0)))
        f = Py_NewRef(SLOT(self, OFF_DATA));
    else if (op == OP_RELU || op == OP_STEP || op == OP_SIGN)
        f = Py_NewRef(r == 0.0 ? ZERO : r == 1.0 ? ONE : MINUS_ONE);
    else
        f = PyFloat_FromDouble(r);
    return new_value_from(f, OP_OBJ[op], inputs, attr_obj ? attr_obj : Py_None);
}

#define UNARY_METHOD(name, op, which)                                           \
    static PyObject *name(PyObject *self, PyObject *Py_UNUSED(ignored))         \
    {                                                                           \
        PyObject *r = unary(op, self, 0.0, NULL);                               \
        if (r != NULL || PyErr_Occurred())                                      \
            return r;                                                           \
        return fallback1(which, self);                                          \
    }
UNARY_METHOD(v_neg, OP_NEG, PY_NEG)
UNARY_METHOD(v_exp, OP_EXP, PY_EXP)
UNARY_METHOD(v_log, OP_LOG, PY_LOG)
UNARY_METHOD(v_tanh, OP_TANH, PY_TANH)
UNARY_METHOD(v_sigmoid, OP_SIGMOID, PY_SIGMOID)
UNARY_METHOD(v_relu, OP_RELU, PY_RELU)
UNARY_METHOD(v_sign, OP_SIGN, PY_SIGN)
UNARY_METHOD(v_step, OP_STEP, PY_STEP)
UNARY_METHOD(v_abs, OP_ABS, PY_ABS)

/* A one-input op with a number constant (** k, leaky_relu(slope), elu(alpha)). */
static PyObject *unary_with_constant(int op, int which, PyObject *self, PyObject *k)
{
    double kd;
    if (plain_number(k, &kd)) {
        PyObject *attr = PyFloat_CheckExact(k) ? Py_NewRef(k) : PyFloat_FromDouble(kd);
        if (attr == NULL)
            return NULL;
        PyObject *r = unary(op, self, kd, attr);
        Py_DECREF(attr);
        if (r != NULL || PyErr_Occurred())
            return r;
    }
    return fallback2(which, self, k);
}

/* a ** k with a number k (a Value exponent is OPS["powv"], done in Python). */
static PyObject *v_pow(PyObject *self, PyObject *other)
{
    if (Py_TYPE(other) == ValueType || (!PyFloat_CheckExact(other) && !PyLong_CheckExact(other)))
        return fallback2(PY_POW, self, other);
    return unary_with_constant(OP_POW, PY_POW, self, other);
}

static PyObject *FLOAT_001 = NULL, *FLOAT_1 = NULL;  /* leaky_relu's and elu's defaults */

static PyObject *with_default(int op, int which, PyObject *dflt, PyObject *self,
                              PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (kwnames == NULL && nargs <= 1)
        return unary_with_constant(op, which, self, nargs ? args[0] : dflt);
    /* keywords: Python parses them (and names a wrong one) */
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0, total = nargs + nkw + 1;
    PyObject *small[8], **all = total <= 8 ? small : PyMem_Malloc(total * sizeof(PyObject *));
    if (all == NULL)
        return PyErr_NoMemory();
    all[0] = self;
    for (Py_ssize_t i = 0; i < nargs + nkw; i++)
        all[i + 1] = args[i];
    PyObject *r = PyObject_Vectorcall(PY_FN[which], all, nargs + 1, kwnames);
    if (all != small)
        PyMem_Free(all);
    return r;
}

static PyObject *v_leaky_relu(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                              PyObject *kwnames)
{
    return with_default(OP_LEAKY, PY_LEAKY, FLOAT_001, self, args, nargs, kwnames);
}

static PyObject *v_elu(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return with_default(OP_ELU, PY_ELU, FLOAT_1, self, args, nargs, kwnames);
}

/* ---------------------------------------------------------------- n-ary: sum and dot */

/* builtin sum() of floats, started from the int 0 (ops.py _dot_forward calls it): the first
 * term is added to 0.0, the rest as the running interpreter's sum() adds them (plain adds up
 * to 3.11, Neumaier's compensated summation from 3.12 on). */
typedef struct { double s, c; } PySum;
static inline void pysum_first(PySum *acc, double x) { acc->s = 0.0 + x; acc->c = 0.0; }
static inline void pysum_add(PySum *acc, double x)
{
#if PY_VERSION_HEX >= 0x030C0000
    double t = acc->s + x;
    if (fabs(acc->s) >= fabs(x))
        acc->c += (acc->s - t) + x;
    else
        acc->c += (x - t) + acc->s;
    acc->s = t;
#else
    acc->s += x;
#endif
}
static inline double pysum_result(PySum *acc)
{
#if PY_VERSION_HEX >= 0x030C0000
    if (acc->c && isfinite(acc->c))
        return acc->s + acc->c;
#endif
    return acc->s;
}

/* Items of a list or tuple as an array (borrowed), or NULL for any other iterable. */
static PyObject **items_of(PyObject *seq, Py_ssize_t *n)
{
    if (PyList_CheckExact(seq)) {
        *n = PyList_GET_SIZE(seq);
        return ((PyListObject *)seq)->ob_item;
    }
    if (PyTuple_CheckExact(seq)) {
        *n = PyTuple_GET_SIZE(seq);
        return ((PyTupleObject *)seq)->ob_item;
    }
    return NULL;
}

/* A new tuple holding (strong references to) the n items of a list or tuple, read after the
 * tuple is allocated (an allocation can run a collection and finalizers, which could change a
 * list); NULL with no error set when seq is no longer n long. */
static PyObject *snapshot(PyObject *seq, Py_ssize_t n)
{
    PyObject *t = PyTuple_New(n);
    Py_ssize_t now = -1;
    if (t == NULL)
        return NULL;
    PyObject **items = items_of(seq, &now);
    if (now != n) {
        Py_DECREF(t);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        PyTuple_SET_ITEM(t, i, Py_NewRef(items[i]));
    return t;
}

/* Replace the number items of tuple t (which only this file has seen) by constant leaves. */
static int numbers_to_constants(PyObject *t)
{
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(t); i++) {
        PyObject *o = PyTuple_GET_ITEM(t, i);
        double d = 0.0;
        if (Py_TYPE(o) != ValueType) {
            plain_number(o, &d);
            PyObject *v = as_operand(o, d);
            if (v == NULL)
                return -1;
            PyTuple_SET_ITEM(t, i, v);
            Py_DECREF(o);
        }
    }
    return 0;
}

/* autodiff.sum(values): OPS["sum"].forward, _sum_forward: x₁ + x₂ + … left to right.
 * Only for a list or tuple of exact Values and plain numbers. */
static PyObject *c_sum(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    Py_ssize_t n;
    PyObject *inputs = NULL;
    if (nargs != 1 || kwnames != NULL || items_of(args[0], &n) == NULL || n == 0)
        goto python;
    if ((inputs = snapshot(args[0], n)) == NULL) {
        if (PyErr_Occurred())
            return NULL;
        goto python;
    }
    double r = 0.0, d;
    int plain = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = PyTuple_GET_ITEM(inputs, i);
        if (Py_TYPE(o) == ValueType) {
            if (!value_data(o, &d))
                goto python;
        }
        else if (plain_number(o, &d))
            plain = 0;
        else
            goto python;
        r = i == 0 ? d : r + d;
    }
    if (!isfinite(r) || !all_recording())
        goto python;
    if (!plain && numbers_to_constants(inputs) < 0) {
        Py_DECREF(inputs);
        return NULL;
    }
    return new_value(r, OP_OBJ[OP_SUM], inputs, Py_None);
python:
    Py_XDECREF(inputs);
    return PyObject_Vectorcall(PY_FN[PY_SUMFN], args, nargs, kwnames);
}

/* autodiff.dot(weights, inputs, bias=None): OPS["dot"].forward, _dot_forward:
 * sum(wᵢ·xᵢ) (+ b), inputs stored as (w₁..wₙ, x₁..xₙ[, b]), attr = bias is not None.
 * Only for lists/tuples of exact Values and a Value, plain number or None bias. */
static PyObject *c_dot(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    Py_ssize_t n, nx;
    PyObject *bias = Py_None, *inputs = NULL;
    double bd = 0.0, w, x;
    if (kwnames != NULL || nargs < 2 || nargs > 3)
        goto python;
    if (nargs == 3)
        bias = args[2];
    if (items_of(args[0], &n) == NULL || items_of(args[1], &nx) == NULL || n != nx || n == 0)
        goto python;
    if (bias != Py_None && Py_TYPE(bias) != ValueType && !plain_number(bias, &bd))
        goto python;
    Py_ssize_t m = 2 * n + (bias != Py_None);
    if ((inputs = PyTuple_New(m)) == NULL)
        return NULL;
    /* read the items after the allocation (it can run finalizers that change a list) */
    PyObject **wi = items_of(args[0], &nx), **xi = NULL;
    if (nx != n || (xi = items_of(args[1], &nx)) == NULL || nx != n)
        goto python;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyTuple_SET_ITEM(inputs, i, Py_NewRef(wi[i]));
        PyTuple_SET_ITEM(inputs, n + i, Py_NewRef(xi[i]));
    }
    if (bias != Py_None)
        PyTuple_SET_ITEM(inputs, 2 * n, Py_NewRef(bias));
    PyObject **in = ((PyTupleObject *)inputs)->ob_item;
    PySum acc = {0.0, 0.0};
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!value_data(in[i], &w) || !value_data(in[n + i], &x))
            goto python;
        if (i == 0)
            pysum_first(&acc, w * x);
        else
            pysum_add(&acc, w * x);
    }
    double r = pysum_result(&acc);
    if (bias != Py_None) {
        if (Py_TYPE(bias) == ValueType && !value_data(bias, &bd))
            goto python;
        r = r + bd;
    }
    if (!isfinite(r) || !all_recording())
        goto python;
    if (bias != Py_None && numbers_to_constants(inputs) < 0) {
        Py_DECREF(inputs);
        return NULL;
    }
    return new_value(r, OP_OBJ[OP_DOT], inputs, bias != Py_None ? Py_True : Py_False);
python:
    Py_XDECREF(inputs);   /* items not yet set are NULL, which tupledealloc skips */
    return PyObject_Vectorcall(PY_FN[PY_DOTFN], args, nargs, kwnames);
}

/* ------------------------------------------------------------------ backward */

/* A growable array of borrowed node pointers. */
typedef struct { PyObject **item; Py_ssize_t *pos; Py_ssize_t len, cap; } NodeArray;

static int nodes_push(NodeArray *a, PyObject *v, Py_ssize_t pos)
{
    if (a->len == a->cap) {
        Py_ssize_t cap = a->cap ? 2 * a->cap : 256;
        PyObject **item = PyMem_Realloc(a->item, cap * sizeof(PyObject *));
        if (item == NULL)
            return -1;
        a->item = item;
        if (a->pos != NULL || a->cap == 0) {
            Py_ssize_t *p = PyMem_Realloc(a->pos, cap * sizeof(Py_ssize_t));
            if (p == NULL)
                return -1;
            a->pos = p;
        }
        a->cap = cap;
    }
    a->item[a->len] = v;
    a->pos[a->len] = pos;
    a->len++;
    return 0;
}


/* The pass accumulates every node's gradient in a buffer of its own (never in the nodes'
 * grad slots) and writes the slots once, at its end: passes over graphs that share nodes
 * cannot see each other's partial sums (backprop.run_pass does the same in Python).
 *
 * Reached: every node the depth-first search met, op nodes and leaves, by first meeting;
 * a pointer hash table (open addressing) maps a node to its place there. */
typedef struct {
    PyObject **node;      /* borrowed: the root holds the graph */
    double *acc;          /* ∂l/∂node of this pass (−0.0 until a contribution: −0.0 + p is p) */
    Py_ssize_t *first;    /* an op node's first entry in `in`; −1 for a leaf */
    Py_ssize_t len, cap;
    PyObject **key;       /* the hash table: nodes … */
    Py_ssize_t *slot;     /* … and their places */
    Py_ssize_t mask;
    Py_ssize_t *in;       /* each op node's inputs, as places, in operand order */
    Py_ssize_t in_len, in_cap;
    Py_ssize_t max_in;    /* the most inputs of one op node */
} Reached;

static inline size_t ptr_hash(PyObject *p)
{
    uintptr_t x = (uintptr_t)p >> 4;
    return (size_t)(x * (uintptr_t)0x9E3779B97F4A7C15ULL);
}

static int table_grow(Reached *r)
{
    Py_ssize_t cap = r->mask ? 2 * (r->mask + 1) : 1024;
    PyObject **key = PyMem_Calloc(cap, sizeof(PyObject *));
    Py_ssize_t *slot = PyMem_Malloc(cap * sizeof(Py_ssize_t));
    if (key == NULL || slot == NULL) {
        PyMem_Free(key);
        PyMem_Free(slot);
        return -1;
    }
    for (Py_ssize_t i = 0; i < r->len; i++) {
        size_t h = ptr_hash(r->node[i]) & (size_t)(cap - 1);
        while (key[h] != NULL)
            h = (h + 1) & (size_t)(cap - 1);
        key[h] = r->node[i];
        slot[h] = i;
    }
    PyMem_Free(r->key);
    PyMem_Free(r->slot);
    r->key = key;
    r->slot = slot;
    r->mask = cap - 1;
    return 0;
}

/* The place of v, or −1 if not reached yet (*h: where it would go in the table). */
static inline Py_ssize_t reached_find(Reached *r, PyObject *v, size_t *h)
{
    size_t i = ptr_hash(v) & (size_t)r->mask;
    while (r->key[i] != NULL) {
        if (r->key[i] == v)
            return r->slot[i];
        i = (i + 1) & (size_t)r->mask;
    }
    *h = i;
    return -1;
}

/* Add v (not reached yet, table position h) and return its place; −1: no memory. */
static Py_ssize_t reached_add(Reached *r, PyObject *v, size_t h, int is_op)
{
    if (r->len == r->cap) {
        Py_ssize_t cap = r->cap ? 2 * r->cap : 1024;
        PyObject **node = PyMem_Realloc(r->node, cap * sizeof(PyObject *));
        if (node == NULL)
            return -1;
        r->node = node;
        double *acc = PyMem_Realloc(r->acc, cap * sizeof(double));
        if (acc == NULL)
            return -1;
        r->acc = acc;
        Py_ssize_t *first = PyMem_Realloc(r->first, cap * sizeof(Py_ssize_t));
        if (first == NULL)
            return -1;
        r->first = first;
        r->cap = cap;
    }
    Py_ssize_t k = r->len++;
    r->node[k] = v;
    r->acc[k] = -0.0;
    r->first[k] = -1;
    if (is_op) {
        Py_ssize_t n = PyTuple_GET_SIZE(SLOT(v, OFF_INPUTS));
        if (r->in_len + n > r->in_cap) {
            Py_ssize_t cap = r->in_cap ? 2 * r->in_cap : 4096;
            while (cap < r->in_len + n)
                cap *= 2;
            Py_ssize_t *in = PyMem_Realloc(r->in, cap * sizeof(Py_ssize_t));
            if (in == NULL)
                return -1;
            r->in = in;
            r->in_cap = cap;
        }
        r->first[k] = r->in_len;
        r->in_len += n;
        if (n > r->max_in)
            r->max_in = n;
    }
    r->key[h] = v;
    r->slot[h] = k;
    if (2 * r->len > r->mask + 1 && table_grow(r) < 0)   /* load ≤ 1/2 */
        return -1;
    return k;
}

static void reached_free(Reached *r)
{
    PyMem_Free(r->node);
    PyMem_Free(r->acc);
    PyMem_Free(r->first);
    PyMem_Free(r->key);
    PyMem_Free(r->slot);
    PyMem_Free(r->in);
}

static int op_code(PyObject *op)
{
    for (int i = 0; i < N_OPS; i++)
        if (OP_OBJ[i] == op)
            return i;
    return -1;
}

/* Can the chain rule run through op node v here?  It must be an exact Value made by an op of
 * this file with the arity that op has, float data and attr, no hooks, and no local partial
 * that would raise in Python (1/b with b = 0, 1/a for log at 0, a ** (k − 1) outside the
 * reals or overflowing).  Its inputs are checked by the caller. */
static int node_ok(PyObject *v)
{
    double x;
    PyObject *g = SLOT(v, OFF_GRAD);   /* replaced before the pass: a float or int, no finalizer */
    PyObject *hooks = SLOT(v, OFF_HOOKS);  /* None, or the empty list its removed hooks leave */
    if (!value_data(v, &x) || g == NULL || !(PyFloat_CheckExact(g) || PyLong_CheckExact(g))
        || hooks == NULL || !(hooks == Py_None || (PyList_CheckExact(hooks) && PyList_GET_SIZE(hooks) == 0)))
        return 0;
    PyObject *op = SLOT(v, OFF_OP), *inputs = SLOT(v, OFF_INPUTS), *attr = SLOT(v, OFF_ATTR);
    if (op == NULL || inputs == NULL || attr == NULL || !PyTuple_CheckExact(inputs))
        return 0;
    int code = op_code(op);
    Py_ssize_t n = PyTuple_GET_SIZE(inputs);
    switch (code) {
    case OP_ADD: case OP_SUB: case OP_MUL:
        return n == 2;
    case OP_DIV:
        return n == 2 && value_data(PyTuple_GET_ITEM(inputs, 1), &x) && x != 0.0;
    case OP_NEG: case OP_EXP: case OP_TANH: case OP_SIGMOID: case OP_RELU: case OP_SIGN:
    case OP_STEP: case OP_ABS:
        return n == 1;
    case OP_LOG:
        return n == 1 && value_data(PyTuple_GET_ITEM(inputs, 0), &x) && x != 0.0;
    case OP_LEAKY: case OP_ELU:
        return n == 1 && PyFloat_CheckExact(attr);
    case OP_POW: {
        double a, k, d;
        if (n != 1 || !PyFloat_CheckExact(attr) || !value_data(PyTuple_GET_ITEM(inputs, 0), &a))
            return 0;
        k = PyFloat_AS_DOUBLE(attr);
        if (a == 0.0 && k < 1.0)
            return 1;                                   /* _power_rule's limits */
        return py_float_pow(a, k - 1.0, &d);
    }
    case OP_SUM:
        return n >= 1;
    case OP_DOT:
        if (attr == Py_True)
            return n >= 3 && n % 2 == 1;
        return attr == Py_False && n >= 2 && n % 2 == 0;
    default:
        return 0;
    }
}

/* A leaf the chain rule adds into: an exact Value with float data and a float (or int that
 * converts, as Python's `int + float` does) gradient. */
static int leaf_ok(PyObject *v)
{
    double x;
    if (!value_data(v, &x))
        return 0;
    PyObject *g = SLOT(v, OFF_GRAD);
    if (g == NULL)
        return 0;
    if (PyFloat_CheckExact(g))
        return 1;
    return plain_number(g, &x);
}

/* slot := a float holding x, in place when the float is this slot's alone. */
static inline int set_grad(PyObject *v, double x)
{
    PyObject *g = SLOT(v, OFF_GRAD);
    if (PyFloat_CheckExact(g) && Py_REFCNT(g) == 1) {
        ((PyFloatObject *)g)->ob_fval = x;
        return 0;
    }
    PyObject *f = PyFloat_FromDouble(x);
    if (f == NULL)
        return -1;
    SLOT(v, OFF_GRAD) = f;
    Py_DECREF(g);   /* a float or an int (node_ok, leaf_ok): no finalizer runs */
    return 0;
}

static inline double data_of(PyObject *v) { return PyFloat_AS_DOUBLE(SLOT(v, OFF_DATA)); }

/* The local partials ∂node/∂inputᵢ of an op node node_ok accepted, in operand order, into
 * L (room for every input): the same IEEE operations as the OPS entry each case cites. */
static int node_partials(PyObject *node, double *L)
{
    PyObject *inputs = SLOT(node, OFF_INPUTS);
    PyObject **in = ((PyTupleObject *)inputs)->ob_item;
    Py_ssize_t n = PyTuple_GET_SIZE(inputs);
    double out = data_of(node);
    PyObject *attr = SLOT(node, OFF_ATTR);
#define EDGE(i, local) (L[(i)] = (local))
    switch (op_code(SLOT(node, OFF_OP))) {
    case OP_DOT: {       /* OPS["dot"].partials, _dot_partials: ∂/∂wᵢ = xᵢ, ∂/∂xᵢ = wᵢ, ∂/∂b = 1 */
        Py_ssize_t m = n / 2;
        for (Py_ssize_t i = 0; i < m; i++)
            EDGE(i, data_of(in[m + i]));
        for (Py_ssize_t i = 0; i < m; i++)
            EDGE(m + i, data_of(in[i]));
        if (n % 2)
            EDGE(n - 1, 1.0);
        break;
    }
    case OP_SUM:         /* OPS["sum"].partials: ∂c/∂aᵢ = 1 */
        for (Py_ssize_t i = 0; i < n; i++)
            EDGE(i, 1.0);
        break;
    case OP_ADD:         /* OPS["add"].partials: (1, 1) */
        EDGE(0, 1.0);
        EDGE(1, 1.0);
        break;
    case OP_SUB:         /* OPS["sub"].partials: (1, −1) */
        EDGE(0, 1.0);
        EDGE(1, -1.0);
        break;
    case OP_MUL: {       /* OPS["mul"].partials: (b, a) */
        double a = data_of(in[0]), b = data_of(in[1]);
        EDGE(0, b);
        EDGE(1, a);
        break;
    }
    case OP_DIV: {       /* OPS["div"].partials: (1/b, −out/b) */
        double b = data_of(in[1]);
        EDGE(0, 1.0 / b);
        EDGE(1, -out / b);
        break;
    }
    case OP_NEG:  EDGE(0, -1.0); break;                       /* OPS["neg"]: −1 */
    case OP_EXP:  EDGE(0, out); break;                        /* OPS["exp"]: eᵃ */
    case OP_LOG:  EDGE(0, 1.0 / data_of(in[0])); break;       /* OPS["log"]: 1/a */
    case OP_TANH: EDGE(0, 1.0 - out * out); break;            /* OPS["tanh"] */
    case OP_SIGMOID: EDGE(0, out * (1.0 - out)); break;       /* OPS["sigmoid"] */
    case OP_RELU: EDGE(0, data_of(in[0]) <= 0.0 ? 0.0 : 1.0); break;  /* OPS["relu"] */
    case OP_LEAKY:                                                /* OPS["leaky_relu"] */
        EDGE(0, data_of(in[0]) > 0.0 ? 1.0 : PyFloat_AS_DOUBLE(attr));
        break;
    case OP_ELU:                                                  /* OPS["elu"] */
        EDGE(0, data_of(in[0]) > 0.0 ? 1.0 : out + PyFloat_AS_DOUBLE(attr));
        break;
    case OP_SIGN: case OP_STEP: EDGE(0, 0.0); break;   /* OPS["sign"], OPS["step"]: 0 */
    case OP_ABS: {                                       /* OPS["abs"]: sign a, a·0 at 0 and NaN */
        double a = data_of(in[0]);
        EDGE(0, a > 0.0 ? 1.0 : (a < 0.0 ? -1.0 : a * 0.0));
        break;
    }
    case OP_POW: {       /* OPS["pow"].partials, _power_rule: k·aᵏ⁻¹, limits at a = 0 */
        double a = data_of(in[0]), k = PyFloat_AS_DOUBLE(attr), local;
        if (a == 0.0 && k < 1.0)
            local = k == 0.0 ? 0.0 : INFINITY;
        else {
            double pw = 0.0;
            py_float_pow(a, k - 1.0, &pw);   /* checked by node_ok */
            local = k * pw;
        }
        EDGE(0, local);
        break;
    }
    default:
        PyErr_SetString(PyExc_SystemError, "autodiff._ccore: unknown op in a checked graph");
        return -1;
    }
#undef EDGE
    return 0;
}

/* The depth-first search of topological_order(root): gives every node reached a place in
 * `r` (each op node's inputs resolved to places, in operand order), lists the op nodes in
 * `order` (each after the op nodes it reads; pos = its place) and, when `topo` is not NULL,
 * every node in `topo` in topological order with leaves (a leaf where it is first met, an
 * op node where it is emitted; pos = its place). Returns 1; 0 when the graph holds a node
 * this file does not take (Python runs the pass); -1 with MemoryError set. */
static int reach(PyObject *root, Reached *r, NodeArray *order, NodeArray *topo)
{
    NodeArray stack = {NULL, NULL, 0, 0};
    size_t h = 0;
    int status = 1;
#define OR_NOMEM(x) do { if ((x) < 0) { status = -1; goto out; } } while (0)
    OR_NOMEM(table_grow(r));
    (void)reached_find(r, root, &h);
    OR_NOMEM(reached_add(r, root, h, 1));
    OR_NOMEM(nodes_push(&stack, root, 0));
    while (stack.len) {
        PyObject *node = stack.item[stack.len - 1];
        PyObject *inputs = SLOT(node, OFF_INPUTS);
        Py_ssize_t n = PyTuple_GET_SIZE(inputs), i = stack.pos[stack.len - 1];
        Py_ssize_t here = reached_find(r, node, &h), base = r->first[here];
        int pushed = 0;
        for (; i < n; i++) {
            PyObject *inp = PyTuple_GET_ITEM(inputs, i);
            PyObject *its;
            if (Py_TYPE(inp) != ValueType || (its = SLOT(inp, OFF_INPUTS)) == NULL
                || !PyTuple_CheckExact(its)) {
                status = 0;
                goto out;
            }
            Py_ssize_t k = reached_find(r, inp, &h);
            if (k >= 0) {                                   /* reached before */
                r->in[base + i] = k;
                continue;
            }
            int is_op = PyTuple_GET_SIZE(its) != 0;
            if (is_op ? !node_ok(inp) : !leaf_ok(inp)) {
                status = 0;
                goto out;
            }
            k = reached_add(r, inp, h, is_op);
            OR_NOMEM(k);
            r->in[base + i] = k;
            if (!is_op) {
                if (topo != NULL)
                    OR_NOMEM(nodes_push(topo, inp, k));
                continue;
            }
            stack.pos[stack.len - 1] = i + 1;
            OR_NOMEM(nodes_push(&stack, inp, 0));
            pushed = 1;
            break;
        }
        if (!pushed) {
            stack.len--;
            if (topo != NULL)
                OR_NOMEM(nodes_push(topo, node, here));
            OR_NOMEM(nodes_push(order, node, here));
        }
    }
#undef OR_NOMEM
out:
    if (status < 0)
        PyErr_NoMemory();
    PyMem_Free(stack.item);
    PyMem_Free(stack.pos);
    return status;
}

/* Whether the C core may take a pass from `root`: 1 when root is an op node of the exact
 * Value type and no leaf anywhere has a hook (Value.leaf_hooks == 0); 0 when Python must
 * run the pass; -1 with an exception set. Shared by backward() and record(). */
static int root_accepted(PyObject *root)
{
    if (!installed || Py_TYPE(root) != ValueType)
        return 0;
    PyObject *rin = SLOT(root, OFF_INPUTS);
    if (rin == NULL || !PyTuple_CheckExact(rin) || PyTuple_GET_SIZE(rin) == 0
        || SLOT(root, OFF_OP) == Py_None)
        return 0;
    PyObject *leaf_hooks = PyObject_GetAttr((PyObject *)ValueType, STR_LEAF_HOOKS);
    if (leaf_hooks == NULL)
        return -1;
    int hooked = !(PyLong_CheckExact(leaf_hooks) && PyLong_AsLong(leaf_hooks) == 0);
    Py_DECREF(leaf_hooks);
    return !hooked;
}

/* backward(root): backprop.backward's pass (run_pass, no leaf hooks, then write_gradients),
 * same order, same arithmetic.  The depth-first search of topological_order(root,
 * leaves=False) lists the op nodes (each after the op nodes it reads) and gives every node
 * reached a place in a buffer; the chain rule runs on that buffer; then each op node's grad
 * slot gets its gradient and each leaf's has its gradient added.  Returns False when done;
 * NotImplemented, having changed nothing, when Python must run the pass: a node this file
 * does not know, hooks, or a number of the pass that may be NaN or ±inf (Σ products² is not
 * finite: a superset of the cases in which backprop.check_gradients can raise).  The caller
 * holds backprop.GRADIENT_LOCK; no Python code runs during the pass. */
static PyObject *c_backward(PyObject *mod, PyObject *root)
{
    PyObject *result = NULL;
    Reached r = {0};
    NodeArray order = {NULL, NULL, 0, 0};

    int accepted = root_accepted(root);
    if (accepted < 0)
        return NULL;
    if (!accepted)
        Py_RETURN_NOTIMPLEMENTED;

    /* topological_order(root, leaves=False), every input edge resolved to a place */
    if (!node_ok(root))
        goto done;
    int reached = reach(root, &r, &order, NULL);
    if (reached < 0)
        goto error;
    if (!reached)
        goto done;

    /* run_pass: ∂l/∂l = 1, then for each op node in reverse order and each input edge,
     * ∂l/∂a += ∂l/∂u · ∂u/∂a, in the buffer. */
    r.acc[0] = 1.0;   /* the root's place */
    double bound = 0.0;   /* Σ products²: finite iff no product or sum can be NaN or ±inf */
    double *acc = r.acc;
    double *L = PyMem_Malloc((r.max_in ? r.max_in : 1) * sizeof(double));
    if (L == NULL)
        goto nomem;
    for (Py_ssize_t j = order.len - 1; j >= 0; j--) {
        PyObject *node = order.item[j];
        Py_ssize_t n = PyTuple_GET_SIZE(SLOT(node, OFF_INPUTS));
        const Py_ssize_t *at = r.in + r.first[order.pos[j]];
        double g = acc[order.pos[j]];
        if (node_partials(node, L) < 0) {
            PyMem_Free(L);
            goto error;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            double p = g * L[i];
            bound += p * p;
            acc[at[i]] += p;
        }
    }
    PyMem_Free(L);
    if (!isfinite(bound))
        goto done;   /* Python runs the pass and its careful check (nothing was written) */

    /* write_gradients: op nodes get their gradient, leaves have it added */
    for (Py_ssize_t k = 0; k < r.len; k++) {
        PyObject *v = r.node[k];
        double x = acc[k];
        if (r.first[k] < 0) {
            PyObject *g = SLOT(v, OFF_GRAD);
            double old = 0.0;
            if (PyFloat_CheckExact(g))
                old = PyFloat_AS_DOUBLE(g);
            else
                plain_number(g, &old);   /* checked by leaf_ok */
            x = old + x;
        }
        if (set_grad(v, x) < 0)
            goto nomem;
    }
    result = Py_NewRef(Py_False);
    goto cleanup;

nomem:
    PyErr_NoMemory();
error:
    Py_CLEAR(result);
    goto cleanup;
done:   /* not for this file: Python runs the whole pass (nothing was changed) */
    result = Py_NewRef(Py_NotImplemented);
cleanup:
    reached_free(&r);
    PyMem_Free(order.item);
    PyMem_Free(order.pos);
    return result;
}

/* record(root): the pass of backward(root) as autodiff.trace.Trace records it (backprop.run_pass
 * with record=True over topological_order(root), leaves included), with the same numbers.
 * Returns NotImplemented, having changed nothing, in the cases backward() leaves to Python
 * (and when a number of the pass may be NaN or ±inf: the Python recording decides what
 * backward() raises); else a tuple (nodes, step_node, step_upstream, edge_start, edge_input,
 * edge_operand, local, product, before, after, final): the nodes in topological order (a
 * list) and the arrays as bytes (Py_ssize_t and double, native order), final by position.
 * Nothing is written into any node. */
static PyObject *c_record(PyObject *mod, PyObject *root)
{
    PyObject *result = NULL, *nodes = NULL;
    Reached r = {0};
    NodeArray order = {NULL, NULL, 0, 0}, topo = {NULL, NULL, 0, 0};
    Py_ssize_t *pos = NULL, n_topo = 0;
    double *L = NULL;
    PyObject *bufs[10] = {NULL};

    int accepted = root_accepted(root);
    if (accepted < 0)
        return NULL;
    if (!accepted || !node_ok(root))
        Py_RETURN_NOTIMPLEMENTED;
    /* topological_order(root) with leaves, every input edge resolved to a place; pos[k] is
     * place k's topological position, nodes the nodes in that order */
    int reached = reach(root, &r, &order, &topo);
    if (reached < 0)
        goto error;
    if (!reached)
        goto done;
    n_topo = topo.len;
    pos = PyMem_Malloc((n_topo ? n_topo : 1) * sizeof(Py_ssize_t));
    nodes = PyList_New(n_topo);
    if (pos == NULL || nodes == NULL)
        goto nomem;
    for (Py_ssize_t t = 0; t < n_topo; t++) {
        pos[topo.pos[t]] = t;
        PyList_SET_ITEM(nodes, t, Py_NewRef(topo.item[t]));
    }

    /* run_pass with record: each op node in reverse order, each input edge */
    Py_ssize_t n_steps = order.len, n_edges = r.in_len;
    bufs[0] = PyBytes_FromStringAndSize(NULL, n_steps * sizeof(Py_ssize_t));        /* step_node */
    bufs[1] = PyBytes_FromStringAndSize(NULL, n_steps * sizeof(double));            /* step_upstream */
    bufs[2] = PyBytes_FromStringAndSize(NULL, (n_steps + 1) * sizeof(Py_ssize_t));  /* edge_start */
    bufs[3] = PyBytes_FromStringAndSize(NULL, n_edges * sizeof(Py_ssize_t));        /* edge_input */
    bufs[4] = PyBytes_FromStringAndSize(NULL, n_edges * sizeof(Py_ssize_t));        /* edge_operand */
    for (int b = 5; b < 9; b++)                                       /* local product before after */
        bufs[b] = PyBytes_FromStringAndSize(NULL, n_edges * sizeof(double));
    bufs[9] = PyBytes_FromStringAndSize(NULL, n_topo * sizeof(double));             /* final */
    for (int b = 0; b < 10; b++)
        if (bufs[b] == NULL)
            goto error;
    Py_ssize_t *step_node = (Py_ssize_t *)PyBytes_AS_STRING(bufs[0]);
    double *step_up = (double *)PyBytes_AS_STRING(bufs[1]);
    Py_ssize_t *edge_start = (Py_ssize_t *)PyBytes_AS_STRING(bufs[2]);
    Py_ssize_t *edge_input = (Py_ssize_t *)PyBytes_AS_STRING(bufs[3]);
    Py_ssize_t *edge_operand = (Py_ssize_t *)PyBytes_AS_STRING(bufs[4]);
    double *local = (double *)PyBytes_AS_STRING(bufs[5]), *product = (double *)PyBytes_AS_STRING(bufs[6]);
    double *before = (double *)PyBytes_AS_STRING(bufs[7]), *after = (double *)PyBytes_AS_STRING(bufs[8]);
    double *final = (double *)PyBytes_AS_STRING(bufs[9]);
    L = PyMem_Malloc((r.max_in ? r.max_in : 1) * sizeof(double));
    if (L == NULL)
        goto nomem;
    double *acc = r.acc, bound = 0.0;
    acc[0] = 1.0;   /* the root's place */
    Py_ssize_t s = 0, e = 0;
    for (Py_ssize_t j = order.len - 1; j >= 0; j--, s++) {
        PyObject *node = order.item[j];
        Py_ssize_t n = PyTuple_GET_SIZE(SLOT(node, OFF_INPUTS)), place = order.pos[j];
        const Py_ssize_t *at = r.in + r.first[place];
        double g = acc[place];
        if (node_partials(node, L) < 0)
            goto error;
        step_node[s] = pos[place];
        step_up[s] = g;
        edge_start[s] = e;
        for (Py_ssize_t i = 0; i < n; i++, e++) {
            double p = g * L[i], b0 = acc[at[i]];
            bound += p * p;
            acc[at[i]] = b0 + p;
            edge_input[e] = pos[at[i]];
            edge_operand[e] = i;
            local[e] = L[i];
            product[e] = p;
            before[e] = b0 + 0.0;   /* shown as 0, not −0, before the first contribution */
            after[e] = b0 + p;
        }
    }
    edge_start[s] = e;
    if (!isfinite(bound))
        goto done;
    for (Py_ssize_t k = 0; k < r.len; k++)
        final[pos[k]] = acc[k];
    result = PyTuple_New(11);
    if (result == NULL)
        goto error;
    PyTuple_SET_ITEM(result, 0, nodes);
    nodes = NULL;
    for (int b = 0; b < 10; b++) {
        PyTuple_SET_ITEM(result, b + 1, bufs[b]);
        bufs[b] = NULL;
    }
    goto cleanup;

nomem:
    PyErr_NoMemory();
error:
    Py_CLEAR(result);
    goto cleanup;
done:
    result = Py_NewRef(Py_NotImplemented);
cleanup:
    Py_XDECREF(nodes);
    for (int b = 0; b < 10; b++)
        Py_XDECREF(bufs[b]);
    reached_free(&r);
    PyMem_Free(pos);
    PyMem_Free(L);
    PyMem_Free(order.item);
    PyMem_Free(order.pos);
    PyMem_Free(topo.item);
    PyMem_Free(topo.pos);
    return result;
}

/* ------------------------------------------------------------------ installation */

static PyMethodDef VALUE_METHODS[] = {
    {"__add__", (PyCFunction)v_add, METH_O, NULL},
    {"__radd__", (PyCFunction)v_radd, METH_O, NULL},
    {"__sub__", (PyCFunction)v_sub, METH_O, NULL},
    {"__rsub__", (PyCFunction)v_rsub, METH_O, NULL},
    {"__mul__", (PyCFunction)v_mul, METH_O, NULL},
    {"__rmul__", (PyCFunction)v_rmul, METH_O, NULL},
    {"__truediv__", (PyCFunction)v_div, METH_O, NULL},
    {"__rtruediv__", (PyCFunction)v_rdiv, METH_O, NULL},
    {"__pow__", (PyCFunction)v_pow, METH_O, NULL},
    {"__neg__", (PyCFunction)v_neg, METH_NOARGS, NULL},
    {"exp", (PyCFunction)v_exp, METH_NOARGS, NULL},
    {"log", (PyCFunction)v_log, METH_NOARGS, NULL},
    {"tanh", (PyCFunction)v_tanh, METH_NOARGS, NULL},
    {"sigmoid", (PyCFunction)v_sigmoid, METH_NOARGS, NULL},
    {"relu", (PyCFunction)v_relu, METH_NOARGS, NULL},
    {"leaky_relu", (PyCFunction)(void (*)(void))v_leaky_relu, METH_FASTCALL | METH_KEYWORDS, NULL},
    {"elu", (PyCFunction)(void (*)(void))v_elu, METH_FASTCALL | METH_KEYWORDS, NULL},
    {"sign", (PyCFunction)v_sign, METH_NOARGS, NULL},
    {"step", (PyCFunction)v_step, METH_NOARGS, NULL},
    {"abs", (PyCFunction)v_abs, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL}};

static Py_ssize_t slot_offset(PyObject *cls, const char *name)
{
    PyObject *d = PyDict_GetItemString(((PyTypeObject *)cls)->tp_dict, name);
    if (d == NULL || !Py_IS_TYPE(d, &PyMemberDescr_Type)) {
        PyErr_Format(PyExc_TypeError, "autodiff._ccore: Value.%s is not a __slots__ slot", name);
        return -1;
    }
    PyMemberDef *m = ((PyMemberDescrObject *)d)->d_member;
    if (m->type != T_OBJECT_EX) {
        PyErr_Format(PyExc_TypeError, "autodiff._ccore: Value.%s is not an object slot", name);
        return -1;
    }
    return m->offset;
}

/* install(Value, kernels, value_globals, python) -> {name: method descriptor or function}
 * kernels: {kernel id: its Op entry}, the ids the op table assigns (Op.c_kernel, the names in
 * OP_NAMES); value_globals: autodiff.value's namespace, read by the public names ALL_RECORDING,
 * CLOCK and NO_STAMP; python: {name: the Python
 * function each fast path falls back to}, names as in PY_NAMES. */
static PyObject *c_install(PyObject *mod, PyObject *args)
{
    PyObject *cls, *ops, *globals, *python;
    if (!PyArg_ParseTuple(args, "O!O!O!O!", &PyType_Type, &cls, &PyDict_Type, &ops,
                          &PyDict_Type, &globals, &PyDict_Type, &python))
        return NULL;
    if (installed) {
        PyErr_SetString(PyExc_RuntimeError, "autodiff._ccore is already installed");
        return NULL;
    }
    Py_ssize_t *offs[] = {&OFF_DATA, &OFF_GRAD, &OFF_LABEL, &OFF_PARAM, &OFF_OP, &OFF_INPUTS,
                          &OFF_ATTR, &OFF_GROUP, &OFF_HOOKS, &OFF_STAMP};
    const char *names[] = {"_data", "_grad", "_label", "param", "_op", "_inputs", "attr", "group",
                           "_hooks", "_stamp"};
    for (int i = 0; i < 10; i++)
        if ((*offs[i] = slot_offset(cls, names[i])) < 0)
            return NULL;
    CLOCK = PyDict_GetItemString(globals, "CLOCK");
    if (CLOCK == NULL || !PyList_CheckExact(CLOCK) || PyList_GET_SIZE(CLOCK) != 1)
        return PyErr_Format(PyExc_TypeError, "autodiff._ccore: value.CLOCK is not a one-item list");
    Py_INCREF(CLOCK);
    NO_STAMP = PyDict_GetItemString(globals, "NO_STAMP");
    if (NO_STAMP == NULL || !PyFloat_CheckExact(NO_STAMP))
        return PyErr_Format(PyExc_TypeError, "autodiff._ccore: value.NO_STAMP is not a float");
    Py_INCREF(NO_STAMP);
    for (int i = 0; i < N_OPS; i++) {
        PyObject *op = PyDict_GetItemString(ops, OP_NAMES[i]);
        if (op == NULL)
            return PyErr_Format(PyExc_KeyError, "autodiff._ccore: no op of the table names the C kernel %s (Op.c_kernel)", OP_NAMES[i]);
        OP_OBJ[i] = Py_NewRef(op);
    }
    for (int i = 0; i < N_PY; i++) {
        PyObject *fn = PyDict_GetItemString(python, PY_NAMES[i]);
        if (fn == NULL || !PyCallable_Check(fn))
            return PyErr_Format(PyExc_KeyError, "autodiff._ccore: no Python %s to fall back to",
                                PY_NAMES[i]);
        PY_FN[i] = Py_NewRef(fn);
    }
    ValueType = (PyTypeObject *)Py_NewRef(cls);
    VALUE_GLOBALS = Py_NewRef(globals);
    PyObject *out = PyDict_New();
    if (out == NULL)
        return NULL;
    for (PyMethodDef *def = VALUE_METHODS; def->ml_name; def++) {
        PyObject *descr = PyDescr_NewMethod(ValueType, def);
        if (descr == NULL || PyDict_SetItemString(out, def->ml_name, descr) < 0) {
            Py_XDECREF(descr);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(descr);
    }
    PyObject *fsum = PyObject_GetAttrString(mod, "sum"), *fdot = PyObject_GetAttrString(mod, "dot");
    if (fsum == NULL || fdot == NULL || PyDict_SetItemString(out, "sum", fsum) < 0
        || PyDict_SetItemString(out, "dot", fdot) < 0) {
        Py_XDECREF(fsum);
        Py_XDECREF(fdot);
        Py_DECREF(out);
        return NULL;
    }
    Py_DECREF(fsum);
    Py_DECREF(fdot);
    installed = 1;
    return out;
}

static PyMethodDef MODULE_METHODS[] = {
    {"install", c_install, METH_VARARGS,
     "install(Value, OPS, value_globals, python) -> the fast paths, by name"},
    {"record", c_record, METH_O,
     "record(root) -> NotImplemented (run the Python recording) or (nodes, arrays as bytes ...)"},
    {"backward", c_backward, METH_O,
     "backward(root) -> False (done), NotImplemented (changed nothing: run the Python pass)"},
    {"sum", (PyCFunction)(void (*)(void))c_sum, METH_FASTCALL | METH_KEYWORDS,
     "autodiff.sum(values), fast path"},
    {"dot", (PyCFunction)(void (*)(void))c_dot, METH_FASTCALL | METH_KEYWORDS,
     "autodiff.dot(weights, inputs, bias=None), fast path"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef MODULE = {
    PyModuleDef_HEAD_INIT, "autodiff._ccore",
    "The optional C core of autodiff's eager engine (see autodiff/engine.py).", -1,
    MODULE_METHODS};

PyMODINIT_FUNC PyInit__ccore(void)
{
    PyObject *m = PyModule_Create(&MODULE);
    if (m == NULL)
        return NULL;
    STR_ALL_RECORDING = PyUnicode_InternFromString("ALL_RECORDING");
    STR_LEAF_HOOKS = PyUnicode_InternFromString("leaf_hooks");
    EMPTY_STR = PyUnicode_FromString("");
    ZERO = PyFloat_FromDouble(0.0);
    ONE = PyFloat_FromDouble(1.0);
    MINUS_ONE = PyFloat_FromDouble(-1.0);
    FLOAT_001 = PyFloat_FromDouble(0.01);
    FLOAT_1 = PyFloat_FromDouble(1.0);
    if (!STR_ALL_RECORDING || !STR_LEAF_HOOKS || !EMPTY_STR || !ZERO || !ONE || !MINUS_ONE || !FLOAT_001 || !FLOAT_1) {
        Py_DECREF(m);
        return NULL;
    }
    PyObject *names = PyTuple_New(N_OPS);
    if (names == NULL) {
        Py_DECREF(m);
        return NULL;
    }
    for (int i = 0; i < N_OPS; i++)
        PyTuple_SET_ITEM(names, i, PyUnicode_FromString(OP_NAMES[i]));
    if (PyModule_AddObject(m, "OPS_IN_C", names) < 0) {
        Py_DECREF(names);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
