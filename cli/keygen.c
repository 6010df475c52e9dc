/* floodgate keygen NAME [DIR]: a CurveZMQ key pair for one process. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/zsec.h"

#define KEYGEN_DIR "/etc/floodgate/keys"

int cli_keygen(int argc, char **argv, const char *conf)
{
    (void)conf;
    if (argc < 2 || argc > 3 || argv[1][0] == '-') {
        fprintf(stderr, "usage: floodgate keygen NAME [DIR]   (DIR: %s)\n", KEYGEN_DIR);
        return 2;
    }
    const char *dir = argc == 3 ? argv[2] : KEYGEN_DIR;
    char err[512];
    if (zsec_keygen(argv[1], dir, err, sizeof(err)) != 0) {
        fprintf(stderr, "floodgate: keygen: %s\n", err);
        return 1;
    }
    printf("%s/%s.key          public: copy it to the allowed_keys directory of the servers\n"
           "%s/%s.key_secret   secret (mode 0600): stays on this host, the process's cert\n",
           dir, argv[1], dir, argv[1]);
    return 0;
}
