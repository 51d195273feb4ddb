/* Recognise the common HTTP/1.1 exchange in one call: a whole, plain request or response head.
 *
 * The front door relays most requests without changing a byte of them but the X-Forwarded-* lines it
 * appends. For those it needs only a few facts about the head (where it ends, the method, target and
 * Host of a request, the status of a response, the body's length), and parsing the head with
 * httptools' per-header callbacks costs more than everything else it does. ``request`` and
 * ``response`` check a head the strict way and answer those facts, or ``None`` for anything they do
 * not accept: another HTTP version, a header the proxy must rewrite, a malformed or unfinished head.
 * ``None`` only means "take the general path" (httptools), which handles and judges every case, so
 * this module never decides what is valid HTTP, only what is plainly so.
 *
 * Which header names make a head need rewriting is ``orchestrator.proxy.headers``' rule, handed to
 * ``configure`` once at import; a ``Proxy-*`` header and a ``Connection`` header that says anything
 * but ``keep-alive`` always do (``headers.passes_as_is``; tests/unit/test_headscan.py holds the two in
 * step). No I/O, no state but the configured names.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define MAX_NAMES 32
#define MAX_NAME_LENGTH 40
#define MAX_HEAD_BYTES (64 * 1024) /* client.MAX_HEAD_BYTES: larger heads take the general path */
#define MAX_LENGTH_DIGITS 15

typedef struct {
    char names[MAX_NAMES][MAX_NAME_LENGTH];
    Py_ssize_t lengths[MAX_NAMES];
    int count;
} NameSet;

static NameSet request_rewritten;
static NameSet response_rewritten;

/* Byte classes, filled by ``fill_classes``: RFC 9110 tchar; a field value's bytes (visible characters,
 * space, tab and obs-text). */
#define TCHAR 1
#define VALUE 2
static unsigned char classes[256];

static void fill_classes(void) {
    for (int c = 0; c < 256; c++) {
        int tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
        int value = c == '\t' || (c >= 0x20 && c != 0x7f);
        classes[c] = (unsigned char)((tchar ? TCHAR : 0) | (value ? VALUE : 0));
    }
}

static int is_tchar(unsigned char c) { return classes[c] & TCHAR; }

static int is_value_char(unsigned char c) { return classes[c] & VALUE; }

static unsigned char lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c; }

/* Whether name[0:length] equals the lower-case ``expected`` ignoring case. */
static int same_name(const unsigned char *name, Py_ssize_t length, const char *expected, Py_ssize_t expected_length) {
    if (length != expected_length) return 0;
    for (Py_ssize_t i = 0; i < length; i++) {
        if (lower(name[i]) != (unsigned char)expected[i]) return 0;
    }
    return 1;
}

static int in_set(const NameSet *set, const unsigned char *name, Py_ssize_t length) {
    for (int i = 0; i < set->count; i++) {
        if (same_name(name, length, set->names[i], set->lengths[i])) return 1;
    }
    return 0;
}

/* The methods taken here, as spelled on the wire (httptools knows more, and refuses other spellings). */
static const char *const METHODS[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"};

static int is_common_method(const unsigned char *method, Py_ssize_t length) {
    for (size_t i = 0; i < sizeof METHODS / sizeof METHODS[0]; i++) {
        if ((Py_ssize_t)strlen(METHODS[i]) == length && memcmp(method, METHODS[i], (size_t)length) == 0) return 1;
    }
    return 0;
}

/* What one pass over the header lines found. */
typedef struct {
    Py_ssize_t head_end;    /* offset just past the blank line */
    Py_ssize_t host_start, host_length, host_count;
    long long content_length; /* -1: none */
} Headers;

/* Scan the header lines from ``at`` to the blank line. Returns 0 when every line is plain under
 * ``rewritten`` (filling ``found``), -1 otherwise. */
static int scan_headers(const unsigned char *data, Py_ssize_t size, Py_ssize_t at, const NameSet *rewritten, Headers *found) {
    found->host_start = found->host_length = found->host_count = 0;
    found->content_length = -1;
    if (size > MAX_HEAD_BYTES) size = MAX_HEAD_BYTES;
    for (;;) {
        if (at + 1 >= size) return -1;
        if (data[at] == '\r') {
            if (data[at + 1] != '\n') return -1;
            found->head_end = at + 2;
            return 0;
        }
        Py_ssize_t name_start = at;
        while (at < size && is_tchar(data[at])) at++;
        Py_ssize_t name_length = at - name_start;
        if (name_length == 0 || at >= size || data[at] != ':') return -1; /* obs-fold, space before ':' */
        at++;
        while (at < size && (data[at] == ' ' || data[at] == '\t')) at++;
        Py_ssize_t value_start = at;
        while (at < size && is_value_char(data[at])) at++;
        if (at + 1 >= size || data[at] != '\r' || data[at + 1] != '\n') return -1;
        Py_ssize_t value_end = at;
        while (value_end > value_start && (data[value_end - 1] == ' ' || data[value_end - 1] == '\t')) value_end--;
        at += 2;

        const unsigned char *name = data + name_start;
        const unsigned char *value = data + value_start;
        Py_ssize_t value_length = value_end - value_start;
        if (name_length > 6 && same_name(name, 6, "proxy-", 6)) return -1;
        if (in_set(rewritten, name, name_length)) return -1;
        if (same_name(name, name_length, "connection", 10)) {
            if (!same_name(value, value_length, "keep-alive", 10)) return -1;
        } else if (same_name(name, name_length, "host", 4)) {
            found->host_start = value_start;
            found->host_length = value_length;
            found->host_count++;
        } else if (same_name(name, name_length, "content-length", 14)) {
            if (found->content_length >= 0 || value_length == 0 || value_length > MAX_LENGTH_DIGITS) return -1;
            long long length = 0;
            for (Py_ssize_t i = 0; i < value_length; i++) {
                if (value[i] < '0' || value[i] > '9') return -1;
                length = length * 10 + (value[i] - '0');
            }
            found->content_length = length;
        }
    }
}

/* A tuple that takes over ``items`` (new references, any of them NULL on failure). */
static PyObject *tuple_of(PyObject **items, Py_ssize_t count) {
    PyObject *tuple = NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (items[i] == NULL) goto failed;
    }
    tuple = PyTuple_New(count);
    if (tuple == NULL) goto failed;
    for (Py_ssize_t i = 0; i < count; i++) PyTuple_SET_ITEM(tuple, i, items[i]);
    return tuple;
failed:
    for (Py_ssize_t i = 0; i < count; i++) Py_XDECREF(items[i]);
    return NULL;
}

/* ``request(data)``: ``(head_end, method, target, host, body_length)`` when ``data`` begins with a
 * whole, plain HTTP/1.1 request head with one Host header; else ``None``. */
static PyObject *request(PyObject *module, PyObject *arg) {
    (void)module;
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "request() takes bytes");
        return NULL;
    }
    const unsigned char *data = (const unsigned char *)PyBytes_AS_STRING(arg);
    Py_ssize_t size = PyBytes_GET_SIZE(arg);
    Py_ssize_t at = 0;
    while (at < size && data[at] >= 'A' && data[at] <= 'Z') at++;
    Py_ssize_t method_length = at;
    if (at >= size || data[at] != ' ' || !is_common_method(data, method_length)) Py_RETURN_NONE;
    Py_ssize_t target_start = ++at;
    while (at < size && data[at] > 0x20 && data[at] < 0x7f) at++;
    Py_ssize_t target_length = at - target_start;
    if (target_length == 0 || size - at < 11 || memcmp(data + at, " HTTP/1.1\r\n", 11) != 0) Py_RETURN_NONE;
    /* origin-form, or OPTIONS' asterisk-form; an absolute-form target is for httptools */
    int asterisk = target_length == 1 && data[target_start] == '*' && method_length == 7;
    if (data[target_start] != '/' && !asterisk) Py_RETURN_NONE;
    Headers found;
    if (scan_headers(data, size, at + 11, &request_rewritten, &found) < 0 || found.host_count != 1) Py_RETURN_NONE;
    PyObject *items[5] = {
        PyLong_FromSsize_t(found.head_end),
        PyBytes_FromStringAndSize((const char *)data, method_length),
        PyBytes_FromStringAndSize((const char *)data + target_start, target_length),
        PyBytes_FromStringAndSize((const char *)data + found.host_start, found.host_length),
        PyLong_FromLongLong(found.content_length < 0 ? 0LL : found.content_length),
    };
    return tuple_of(items, 5);
}

/* ``response(data)``: ``(head_end, status, body_length)`` when ``data`` begins with a whole, plain
 * HTTP/1.1 response head with a Content-Length and a status that has a body (200-599 but 204 and
 * 304); else ``None``. */
static PyObject *response(PyObject *module, PyObject *arg) {
    (void)module;
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "response() takes bytes");
        return NULL;
    }
    const unsigned char *data = (const unsigned char *)PyBytes_AS_STRING(arg);
    Py_ssize_t size = PyBytes_GET_SIZE(arg);
    if (size < 13 || memcmp(data, "HTTP/1.1 ", 9) != 0) Py_RETURN_NONE;
    for (int i = 9; i < 12; i++) {
        if (data[i] < '0' || data[i] > '9') Py_RETURN_NONE;
    }
    int status = (data[9] - '0') * 100 + (data[10] - '0') * 10 + (data[11] - '0');
    if (status < 200 || status > 599 || status == 204 || status == 304 || data[12] != ' ') Py_RETURN_NONE;
    Py_ssize_t at = 13;
    while (at < size && is_value_char(data[at])) at++;
    if (at + 1 >= size || data[at] != '\r' || data[at + 1] != '\n') Py_RETURN_NONE;
    Headers found;
    if (scan_headers(data, size, at + 2, &response_rewritten, &found) < 0 || found.content_length < 0) Py_RETURN_NONE;
    PyObject *items[3] = {
        PyLong_FromSsize_t(found.head_end),
        PyLong_FromLong(status),
        PyLong_FromLongLong(found.content_length),
    };
    return tuple_of(items, 3);
}

static int fill(NameSet *set, PyObject *names) {
    PyObject *sequence = PySequence_Fast(names, "configure() takes sequences of bytes");
    if (sequence == NULL) return -1;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(sequence);
    if (count > MAX_NAMES) {
        Py_DECREF(sequence);
        PyErr_SetString(PyExc_ValueError, "configure(): too many names");
        return -1;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *name = PySequence_Fast_GET_ITEM(sequence, i);
        if (!PyBytes_Check(name) || PyBytes_GET_SIZE(name) == 0 || PyBytes_GET_SIZE(name) >= MAX_NAME_LENGTH) {
            Py_DECREF(sequence);
            PyErr_SetString(PyExc_ValueError, "configure(): names are non-empty bytes, under 40 long");
            return -1;
        }
        Py_ssize_t length = PyBytes_GET_SIZE(name);
        const char *text = PyBytes_AS_STRING(name);
        for (Py_ssize_t j = 0; j < length; j++) set->names[i][j] = (char)lower((unsigned char)text[j]);
        set->names[i][length] = '\0';
        set->lengths[i] = length;
    }
    set->count = (int)count;
    Py_DECREF(sequence);
    return 0;
}

/* ``configure(request_names, response_names)``: the header names that make a head need rewriting. */
static PyObject *configure(PyObject *module, PyObject *args) {
    (void)module;
    PyObject *request_names, *response_names;
    if (!PyArg_ParseTuple(args, "OO", &request_names, &response_names)) return NULL;
    NameSet requests = {0}, responses = {0};
    if (fill(&requests, request_names) < 0 || fill(&responses, response_names) < 0) return NULL;
    request_rewritten = requests;
    response_rewritten = responses;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"request", request, METH_O, "(head_end, method, target, host, body_length) of a plain request head, or None."},
    {"response", response, METH_O, "(head_end, status, body_length) of a plain response head, or None."},
    {"configure", configure, METH_VARARGS, "Set the header names that make a head need rewriting."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_headscan", "Recognise plain HTTP/1.1 heads in one call.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__headscan(void) {
    fill_classes();
    return PyModule_Create(&module);
}
