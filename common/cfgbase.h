/* cfgbase: sizes shared by the sections of floodgate.conf (common/config.h
 * and each daemon's own section header). */
#ifndef FG_CFGBASE_H
#define FG_CFGBASE_H

#include "common/zpl.h"

#define FG_MAX_SHARDS 64
#define FG_MAX_GROUPS 256
#define FG_NAME_MAX 64
#define FG_ENDPOINT_MAX ZPL_ITEM_MAX

#endif
