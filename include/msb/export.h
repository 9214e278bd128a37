/**
 * @file export.h
 * @brief Symbol export and C++ linkage macros used by every libmsb header.
 */
#ifndef MSB_EXPORT_H
#define MSB_EXPORT_H

/** @cond MSB_INTERNAL_MACROS */
#ifdef __cplusplus
#define MSB_BEGIN_DECLS extern "C" {
#define MSB_END_DECLS   }
#else
#define MSB_BEGIN_DECLS
#define MSB_END_DECLS
#endif

#if defined(__GNUC__) || defined(__clang__)
#define MSB_API               __attribute__((visibility("default")))
#define MSB_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define MSB_API
#define MSB_PRINTF(fmt, args)
#endif
/** @endcond */

#endif /* MSB_EXPORT_H */
