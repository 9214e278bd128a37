/* Per-thread cells and epoch-based reclamation: see cells.h. */
#include <linux/membarrier.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "metrics/cells.h"

/* A record with no blocks: every thread starts on it, so the fast paths need no NULL check (its
 * NULL blocks send the first write to the slow path, which gives the thread a record). */
msb__cellrec_t msb__no_cells;
MSB_API __thread void *msb__metrics_tls __attribute__((tls_model("initial-exec"))) = &msb__no_cells;
/* Set once this thread's TLS destructor ran: writes go to the shared record from then on. */
static __thread int tls_exited __attribute__((tls_model("initial-exec")));

/* A free range of cells, reused by a later allocation of the same size. */
typedef struct free_range {
    uint32_t first;
    uint32_t n;
    struct free_range *next;
} free_range_t;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_key;
static int g_key_ok;
static msb__cellrec_t *g_records; /* every record, live or parked */
static msb__cellrec_t *g_parked;  /* records of exited threads, to adopt */
static msb__cellrec_t g_shared;   /* atomic-add fallback */
static uint32_t g_next_cell;      /* bump pointer */
static free_range_t *g_free;      /* released ranges */
_Atomic uint64_t msb__ebr_epoch = 1;
_Atomic int msb__ebr_asym;

static void thread_exit(void *p)
{
    msb__cellrec_t *r = p;
    atomic_store_explicit(&r->epoch, 0, memory_order_release);
    pthread_mutex_lock(&g_lock);
    r->next_parked = g_parked;
    g_parked = r;
    pthread_mutex_unlock(&g_lock);
    msb__metrics_tls = &msb__no_cells;
    tls_exited = 1;
}

/* fork(): the child must not inherit the cells lock held by a thread that does not exist there. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&g_lock);
}

static void fork_release(void)
{
    pthread_mutex_unlock(&g_lock);
}

/* Unloading libmsb (dlclose) must not leave a TLS destructor pointing into unmapped code. */
__attribute__((destructor)) static void cells_unload(void)
{
    if (g_key_ok) {
        pthread_key_delete(g_key);
        g_key_ok = 0;
    }
}

static void make_key(void)
{
    g_key_ok = pthread_key_create(&g_key, thread_exit) == 0;
    (void)pthread_atfork(fork_prepare, fork_release, fork_release);
    /* Asymmetric fences for EBR readers (Linux 4.14+); without them readers use xchg. */
    long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0 &&
        syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0) {
        atomic_store_explicit(&msb__ebr_asym, 1, memory_order_release);
    }
}

/* This thread's record, adopting a parked one or allocating; NULL when impossible. */
static msb__cellrec_t *my_record(void)
{
    if (msb__cells_tls != &msb__no_cells) {
        return msb__cells_tls;
    }
    if (tls_exited) {
        return NULL;
    }
    pthread_once(&g_key_once, make_key);
    if (!g_key_ok) {
        return NULL;
    }
    pthread_mutex_lock(&g_lock);
    msb__cellrec_t *r = g_parked;
    if (r != NULL) {
        g_parked = r->next_parked;
    } else {
        r = msb__calloc(1, sizeof(*r));
        if (r != NULL) {
            r->next = g_records;
            g_records = r;
        }
    }
    pthread_mutex_unlock(&g_lock);
    if (r == NULL) {
        return NULL;
    }
    if (pthread_setspecific(g_key, r) != 0) {
        thread_exit(r);
        tls_exited = 0;
        return NULL;
    }
    msb__metrics_tls = r;
    return r;
}

msb__cell_t *msb__cells_block_slow(uint32_t block)
{
    msb__cellrec_t *r = my_record();
    if (r == NULL || block >= MSB__CELL_MAX_BLOCKS) {
        return NULL;
    }
    msb__cell_t *b = atomic_load_explicit(&r->blocks[block], memory_order_relaxed);
    if (b != NULL) {
        return b;
    }
    b = msb__calloc(MSB__CELL_BLOCK, sizeof(*b));
    if (b == NULL) {
        return NULL;
    }
    /* Release: a scrape that sees the block sees it zeroed. */
    atomic_store_explicit(&r->blocks[block], b, memory_order_release);
    return b;
}

msb__cell_t *msb__cells_shared(uint32_t cell)
{
    msb__cell_t *b =
        atomic_load_explicit(&g_shared.blocks[cell >> MSB__CELL_BLOCK_SHIFT], memory_order_acquire);
    return b + (cell & (MSB__CELL_BLOCK - 1));
}

void msb__cell_add_f64_atomic(msb__cell_t *c, double v)
{
    uint64_t old = atomic_load_explicit(c, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(c, &old, msb__f64_bits(msb__bits_f64(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

/* Zero a range in every record (no writer uses it: it was released, or never handed out). */
static void zero_range(uint32_t first, uint32_t n)
{
    uint32_t block = first >> MSB__CELL_BLOCK_SHIFT;
    uint32_t off = first & (MSB__CELL_BLOCK - 1);
    for (msb__cellrec_t *r = g_records; r != NULL; r = r->next) {
        msb__cell_t *b = atomic_load_explicit(&r->blocks[block], memory_order_acquire);
        for (uint32_t i = 0; b != NULL && i < n; i++) {
            atomic_store_explicit(&b[off + i], 0, memory_order_relaxed);
        }
    }
    msb__cell_t *s = atomic_load_explicit(&g_shared.blocks[block], memory_order_relaxed);
    for (uint32_t i = 0; i < n; i++) {
        atomic_store_explicit(&s[off + i], 0, memory_order_relaxed);
    }
}

static msb_status_t take_range(uint32_t n, uint32_t *first, msb_error_t *err)
{
    for (free_range_t **pp = &g_free; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->n == n) {
            free_range_t *f = *pp;
            *pp = f->next;
            *first = f->first;
            msb__free(f);
            return MSB_OK;
        }
    }
    uint32_t start = g_next_cell;
    uint32_t room = MSB__CELL_BLOCK - (start & (MSB__CELL_BLOCK - 1));
    if (room < n) {
        start += room; /* a range never straddles two blocks */
    }
    if ((uint64_t)start + n > (uint64_t)MSB__CELL_BLOCK * MSB__CELL_MAX_BLOCKS) {
        return msb__err(err, MSB_ELIMIT, "metrics: the process' cell space is exhausted (%u cells)",
                        MSB__CELL_BLOCK * MSB__CELL_MAX_BLOCKS);
    }
    uint32_t block = start >> MSB__CELL_BLOCK_SHIFT;
    if (atomic_load_explicit(&g_shared.blocks[block], memory_order_relaxed) == NULL) {
        msb__cell_t *b = msb__calloc(MSB__CELL_BLOCK, sizeof(*b));
        if (b == NULL) {
            return msb__err_nomem(err, "a block of metric cells");
        }
        atomic_store_explicit(&g_shared.blocks[block], b, memory_order_release);
    }
    g_next_cell = start + n;
    *first = start;
    return MSB_OK;
}

msb_status_t msb__cells_alloc(uint32_t n, uint32_t *first, msb_error_t *err)
{
    if (n == 0 || n > MSB__CELL_BLOCK) {
        return msb__err(err, MSB_EINVAL, "metrics: %u cells cannot be allocated together", n);
    }
    pthread_mutex_lock(&g_lock);
    msb_status_t rc = take_range(n, first, err);
    if (rc == MSB_OK) {
        zero_range(*first, n);
    }
    pthread_mutex_unlock(&g_lock);
    return rc;
}

void msb__cells_release(uint32_t first, uint32_t n)
{
    free_range_t *f = msb__malloc(sizeof(*f));
    if (f == NULL) {
        return; /* the range is lost to reuse; nothing else is affected */
    }
    f->first = first;
    f->n = n;
    pthread_mutex_lock(&g_lock);
    f->next = g_free;
    g_free = f;
    pthread_mutex_unlock(&g_lock);
}

void msb__cells_sum(uint32_t first, uint32_t nint, uint32_t ndbl, uint64_t *ints, double *dbls)
{
    uint32_t block = first >> MSB__CELL_BLOCK_SHIFT;
    uint32_t off = first & (MSB__CELL_BLOCK - 1);
    for (uint32_t i = 0; i < nint; i++) {
        ints[i] = 0;
    }
    for (uint32_t i = 0; i < ndbl; i++) {
        dbls[i] = 0;
    }
    pthread_mutex_lock(&g_lock);
    for (msb__cellrec_t *r = g_records;; r = r->next) {
        msb__cellrec_t *rec = r != NULL ? r : &g_shared;
        msb__cell_t *b = atomic_load_explicit(&rec->blocks[block], memory_order_acquire);
        if (b != NULL) {
            const msb__cell_t *c = b + off;
            for (uint32_t i = 0; i < nint; i++) {
                ints[i] += atomic_load_explicit(&c[i], memory_order_relaxed);
            }
            for (uint32_t i = 0; i < ndbl; i++) {
                dbls[i] += msb__bits_f64(atomic_load_explicit(&c[nint + i], memory_order_relaxed));
            }
        }
        if (r == NULL) {
            break;
        }
    }
    pthread_mutex_unlock(&g_lock);
}

msb__cellrec_t *msb__ebr_enter_slow(void)
{
    msb__cellrec_t *r = my_record();
    if (r == NULL) {
        return NULL;
    }
    atomic_exchange_explicit(&r->epoch, atomic_load_explicit(&msb__ebr_epoch, memory_order_acquire),
                             memory_order_seq_cst);
    return r;
}

uint64_t msb__ebr_retire_epoch(void)
{
    return atomic_fetch_add_explicit(&msb__ebr_epoch, 1, memory_order_seq_cst);
}

bool msb__ebr_safe(uint64_t e)
{
    atomic_thread_fence(memory_order_seq_cst);
    pthread_once(&g_key_once, make_key);
    if (atomic_load_explicit(&msb__ebr_asym, memory_order_acquire) &&
        syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) {
        return false; /* cannot order the readers' stores: keep the object for now */
    }
    bool safe = true;
    pthread_mutex_lock(&g_lock);
    for (msb__cellrec_t *r = g_records; r != NULL && safe; r = r->next) {
        uint64_t re = atomic_load_explicit(&r->epoch, memory_order_acquire);
        safe = re == 0 || re > e;
    }
    pthread_mutex_unlock(&g_lock);
    return safe;
}
