/**
 * @file msb.h
 * @brief Umbrella header: includes every public libmsb header.
 *
 * Programs may include this one header, or only the module headers they use.
 */
#ifndef MSB_MSB_H
#define MSB_MSB_H

#include "msb/export.h"
#include "msb/error.h"
#include "msb/core.h"
#include "msb/version.h"
#include "msb/clock.h"
#include "msb/config.h"
#include "msb/log.h"
#include "msb/http.h"
#include "msb/client.h"
#include "msb/cache.h"
#include "msb/cache_loop.h"
#include "msb/dataloader.h"
#include "msb/docstore.h"
#include "msb/metrics.h"
#include "msb/breaker.h"
#include "msb/retry.h"
#include "msb/bulkhead.h"
#include "msb/adaptive.h"
#include "msb/ratelimit_redis.h"
#include "msb/trace.h"

#endif /* MSB_MSB_H */
