/**
 * @file version.h
 * @brief Compile-time and run-time version of libmsb.
 *
 * The macros give the version of the headers a program was compiled against; msb_version()
 * gives the version of the library it runs against. The major version is part of the shared
 * library's SONAME: a program built against major N runs against any N.x with x at least the
 * minor it was built with.
 */
#ifndef MSB_VERSION_H
#define MSB_VERSION_H

#include "msb/export.h"

MSB_BEGIN_DECLS

/** Major version: incremented when the ABI breaks. */
#define MSB_VERSION_MAJOR 0
/** Minor version: incremented when functions or option fields are appended. */
#define MSB_VERSION_MINOR 1
/** Patch version: incremented for fixes that change no interface. */
#define MSB_VERSION_PATCH 0
/** The version as one number, `0xMMmmpp`, for comparisons in `#if`. */
#define MSB_VERSION_NUM ((MSB_VERSION_MAJOR << 16) | (MSB_VERSION_MINOR << 8) | MSB_VERSION_PATCH)

/**
 * @brief The run-time version of the library as `"MAJOR.MINOR.PATCH"`.
 *
 * @return static text, never NULL.
 * Ownership: borrowed, valid for the life of the process.
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API const char *msb_version(void);

/**
 * @brief The run-time version as the number `0xMMmmpp` (see #MSB_VERSION_NUM).
 *
 * Thread-safety: safe from any thread.
 * @since 0.1
 */
MSB_API unsigned msb_version_num(void);

MSB_END_DECLS

#endif /* MSB_VERSION_H */
