/*
 * msb_docstore_submit(): blocking store calls off the event loop. A few worker threads (started
 * on first use) take jobs from a queue; each finished job goes to its loop's mailbox, an eventfd
 * watched by the loop, so the completion runs on the loop's thread without libevent's own
 * locking. This is the one place to switch to the service's worker pool (workpool.h) once it
 * exists: submit() and the mailbox stay, only the threads go.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "docstore/internal.h"

struct msb__ds_job {
    msb__ds_job_t *next;
    msb_docstore_t *ds;
    msb__ds_mailbox_t *box;
    msb_docstore_work_fn work;
    msb_docstore_done_fn done;
    void *arg;
    msb_status_t status;
    msb_error_t err;
};

struct msb__ds_mailbox {
    msb__ds_mailbox_t *next;
    struct event_base *base;
    struct event *ev;
    int fd;
    pthread_mutex_t mu;
    msb__ds_job_t *head; /* finished, waiting for the loop */
};

msb_status_t msb__docstore_exec_init(msb_docstore_t *ds, msb_error_t *err)
{
    if (pthread_cond_init(&ds->cv, NULL) != 0) {
        return msb__err_nomem(err, "a document store");
    }
    pthread_mutex_init(&ds->mu, NULL);
    return MSB_OK;
}

static void *worker(void *arg)
{
    msb_docstore_t *ds = arg;
    pthread_mutex_lock(&ds->mu);
    for (;;) {
        while (ds->head == NULL && !ds->closing) {
            pthread_cond_wait(&ds->cv, &ds->mu);
        }
        msb__ds_job_t *j = ds->head;
        if (j == NULL) {
            break; /* closing and drained */
        }
        ds->head = j->next;
        if (ds->head == NULL) {
            ds->tail = NULL;
        }
        pthread_mutex_unlock(&ds->mu);
        j->err = (msb_error_t)MSB_ERROR_INIT;
        j->status = j->work(ds, j->arg, &j->err);
        if (j->status != MSB_OK && j->err.code == MSB_OK) {
            msb__err(&j->err, j->status, "docstore: %s", msb_strerror(j->status));
        }
        msb__ds_mailbox_t *box = j->box;
        pthread_mutex_lock(&box->mu);
        j->next = box->head;
        box->head = j;
        pthread_mutex_unlock(&box->mu);
        uint64_t one = 1;
        ssize_t n = write(box->fd, &one, sizeof(one));
        (void)n;
        pthread_mutex_lock(&ds->mu);
    }
    pthread_mutex_unlock(&ds->mu);
    return NULL;
}

/* On the loop: run the completions that arrived (oldest first). */
static void on_mail(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    msb__ds_mailbox_t *box = arg;
    uint64_t n;
    ssize_t r = read(fd, &n, sizeof(n));
    (void)r;
    pthread_mutex_lock(&box->mu);
    msb__ds_job_t *list = box->head;
    box->head = NULL;
    pthread_mutex_unlock(&box->mu);
    msb__ds_job_t *rev = NULL;
    while (list != NULL) {
        msb__ds_job_t *next = list->next;
        list->next = rev;
        rev = list;
        list = next;
    }
    while (rev != NULL) {
        msb__ds_job_t *next = rev->next;
        rev->done(rev->status, rev->status == MSB_OK ? NULL : &rev->err, rev->arg);
        msb__free(rev);
        rev = next;
    }
}

/* The mailbox of `base` (made on first use, on the loop's thread). Lock held. */
static msb__ds_mailbox_t *mailbox(msb_docstore_t *ds, struct event_base *base)
{
    for (msb__ds_mailbox_t *b = ds->mailboxes; b != NULL; b = b->next) {
        if (b->base == base) {
            return b;
        }
    }
    msb__ds_mailbox_t *b = msb__calloc(1, sizeof(*b));
    if (b == NULL) {
        return NULL;
    }
    b->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (b->fd < 0) {
        msb__free(b);
        return NULL;
    }
    b->ev = event_new(base, b->fd, EV_READ | EV_PERSIST, on_mail, b);
    if (b->ev == NULL || event_add(b->ev, NULL) != 0) {
        if (b->ev != NULL) {
            event_free(b->ev);
        }
        close(b->fd);
        msb__free(b);
        return NULL;
    }
    pthread_mutex_init(&b->mu, NULL);
    b->base = base;
    b->next = ds->mailboxes;
    ds->mailboxes = b;
    return b;
}

msb_status_t msb_docstore_submit(msb_docstore_t *ds, struct event_base *base,
                                 msb_docstore_work_fn work, msb_docstore_done_fn done, void *arg,
                                 msb_error_t *err)
{
    if (ds == NULL || base == NULL || work == NULL || done == NULL) {
        return msb__err(err, MSB_EINVAL, "docstore: submit needs a store, a loop, work and done");
    }
    msb__ds_job_t *j = msb__calloc(1, sizeof(*j));
    if (j == NULL) {
        return msb__err_nomem(err, "a docstore job");
    }
    j->ds = ds;
    j->work = work;
    j->done = done;
    j->arg = arg;
    msb_status_t rc = MSB_OK;
    pthread_mutex_lock(&ds->mu);
    j->box = ds->closing ? NULL : mailbox(ds, base);
    if (ds->closing) {
        rc = msb__err(err, MSB_ECLOSED, "docstore: the store is closing");
    } else if (j->box == NULL) {
        rc = msb__err(err, MSB_ENOMEM, "docstore: cannot watch the loop (eventfd or event)");
    } else if (ds->started < ds->workers &&
               pthread_create(&ds->threads[ds->started], NULL, worker, ds) == 0) {
        ds->started++;
    }
    if (rc == MSB_OK && ds->started == 0) {
        rc = msb__err(err, MSB_ENOMEM, "docstore: cannot start a worker thread");
    }
    if (rc == MSB_OK) {
        if (ds->tail != NULL) {
            ds->tail->next = j;
        } else {
            ds->head = j;
        }
        ds->tail = j;
        pthread_cond_signal(&ds->cv);
    }
    pthread_mutex_unlock(&ds->mu);
    if (rc != MSB_OK) {
        msb__free(j);
    }
    return rc;
}

void msb__docstore_exec_fini(msb_docstore_t *ds)
{
    pthread_mutex_lock(&ds->mu);
    ds->closing = true;
    pthread_cond_broadcast(&ds->cv);
    pthread_mutex_unlock(&ds->mu);
    for (unsigned i = 0; i < ds->started; i++) {
        pthread_join(ds->threads[i], NULL);
    }
    msb__ds_mailbox_t *b = ds->mailboxes;
    while (b != NULL) {
        msb__ds_mailbox_t *next = b->next;
        msb__ds_job_t *j = b->head; /* finished, never delivered: the loop is gone */
        while (j != NULL) {
            msb__ds_job_t *jn = j->next;
            msb__free(j);
            j = jn;
        }
        event_free(b->ev);
        close(b->fd);
        pthread_mutex_destroy(&b->mu);
        msb__free(b);
        b = next;
    }
    pthread_cond_destroy(&ds->cv);
    pthread_mutex_destroy(&ds->mu);
}
