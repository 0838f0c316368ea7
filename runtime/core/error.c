/* error.c: text for the codes of error.h, generated from the one VG_ERRNO_MAP table. */
#include "core/error.h"

#define VG__ERRSTR(name, msg) [VG_E##name - VG__EBASE - 1] = msg,
#define VG__ERRNAME(name, msg) [VG_E##name - VG__EBASE - 1] = "VG_E" #name,
static const char *const vg__err_msgs[] = {VG_ERRNO_MAP(VG__ERRSTR)};
static const char *const vg__err_names[] = {VG_ERRNO_MAP(VG__ERRNAME)};

static int vg__err_index(int err)
{
    if (err <= VG__EBASE || err >= VG__ELAST) return -1;
    return err - VG__EBASE - 1;
}

const char *vg_strerror(int err)
{
    if (err == 0) return "success";
    int i = vg__err_index(err);
    return i < 0 ? "unknown error" : vg__err_msgs[i];
}

const char *vg_errname(int err)
{
    if (err == 0) return "VG_OK";
    int i = vg__err_index(err);
    return i < 0 ? "VG_EUNKNOWN" : vg__err_names[i];
}
