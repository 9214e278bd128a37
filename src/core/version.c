#include "core/common.h"
#include "msb/version.h"

#define MSB_STR_(x) #x
#define MSB_STR(x)  MSB_STR_(x)

const char *msb_version(void)
{
    return MSB_STR(MSB_VERSION_MAJOR) "." MSB_STR(MSB_VERSION_MINOR) "." MSB_STR(MSB_VERSION_PATCH);
}

unsigned msb_version_num(void)
{
    return MSB_VERSION_NUM;
}
