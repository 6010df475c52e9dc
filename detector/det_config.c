/* det_config: the detector's keys. */
#include "detector/det_config.h"

#include "common/config.h"

#include <stddef.h>

/* clang-format off */
#define F(field) offsetof(det_config_t, field)
static const zpl_key_t s_keys[] = {
    {.name = "ongoing_interval", .kind = ZPL_INT, .off = F(ongoing_interval), .def = "5", .min = 1, .max = 3600},
    {.name = "attack_end", .kind = ZPL_INT, .off = F(attack_end), .def = "30", .min = 1, .max = 86400},
    {.restart = true, .name = "max_hosts", .kind = ZPL_INT, .off = F(max_hosts), .def = "65536", .min = 16, .max = 16777216},
    {.restart = true, .name = "metrics_listen", .kind = ZPL_LISTEN, .off = F(metrics_listen), .size = FG_ENDPOINT_MAX, .def = "127.0.0.1:9552"},
    {.restart = true, .name = "cert", .kind = ZPL_STRING, .off = F(cert), .size = PATH_MAX, .def = "/etc/floodgate/keys/detector.key_secret"},
};
/* clang-format on */

const zpl_section_t det_config_section = {
    .name = "detector",
    .keys = s_keys,
    .n_keys = sizeof(s_keys) / sizeof(s_keys[0]),
    .off = offsetof(fg_config_t, detector),
};
