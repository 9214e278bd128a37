/* The document store's handle, shared by docstore.c and submit.c. */
#ifndef MSB_DOCSTORE_INTERNAL_H
#define MSB_DOCSTORE_INTERNAL_H

#include <pthread.h>

#include "docstore/driver.h"

typedef struct msb__ds_job msb__ds_job_t;
typedef struct msb__ds_mailbox msb__ds_mailbox_t;

struct msb_docstore {
    const msb__docstore_driver_t *drv;
    void *h;
    /* msb_docstore_submit(): worker threads started on first use, and one mailbox per loop */
    unsigned workers;
    unsigned started;
    pthread_t threads[64];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    msb__ds_job_t *head;
    msb__ds_job_t *tail;
    msb__ds_mailbox_t *mailboxes;
    bool closing;
};

MSB_INTERNAL msb_status_t msb__docstore_exec_init(msb_docstore_t *ds, msb_error_t *err);
/* Runs what was submitted, stops the workers, frees the mailboxes. */
MSB_INTERNAL void msb__docstore_exec_fini(msb_docstore_t *ds);

#endif
