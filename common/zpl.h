/* zpl: a schema-driven loader for ZPL files (CZMQ's zconfig format).
 *
 * It knows no section of its own: the caller passes a table of sections,
 * each with a table of typed keys bound to fields of the section's struct
 * (an offset into one big root struct). The loader applies every key's
 * default, reads the file (numbering its lines itself, since zconfig keeps
 * none), then the environment overrides PREFIX_<SECTION>_<KEY>, then each
 * section's cross-key check. Every error is "FILE:LINE: reason" (or "FILE:
 * reason" when it is about the whole file, "environment: reason" for an
 * override).
 *
 * A section is either plain (keys) or a set of named groups (subsections
 * that each hold the same keys, e.g. hostgroups), read after every plain
 * section so that groups may refine what plain sections set. */
#ifndef FG_ZPL_H
#define FG_ZPL_H

#include <stdbool.h>
#include <stddef.h>

/* Longest item of a list value (an endpoint, a prefix, ...). */
#define ZPL_ITEM_MAX 256

typedef enum {
    ZPL_INT,       /* int, min..max */
    ZPL_UINT32,    /* uint32_t, min..max */
    ZPL_DOUBLE,    /* double, min..max */
    ZPL_BOOL,      /* bool: true/false, on/off, yes/no, 1/0 */
    ZPL_STRING,    /* char[size] */
    ZPL_WORD,      /* char[size]: one of the space-separated `words` */
    ZPL_HOSTPORT,  /* char[size]: host:port */
    ZPL_LISTEN,    /* char[size]: host:port, or "" for off */
    ZPL_ZMQ,       /* char[size]: one ZeroMQ endpoint */
    ZPL_ZMQ_LIST,  /* char[max_items][size] + int count: ZeroMQ endpoints */
    ZPL_HOSTPORTS, /* char[max_items][size] + int count: host:port items */
    ZPL_PREFIXES,  /* ptrie_t *: each prefix inserted with `value` */
    ZPL_CUSTOM,    /* parsed by `parse` */
} zpl_kind_t;

typedef struct zpl_key zpl_key_t;

/* A custom value parser: root is the whole config, target the struct of
 * the section (or group) being read. Returns 0, or -1 with a static
 * reason in *why. */
typedef int (*zpl_parse_fn)(void *root, void *target, const zpl_key_t *k, const char *val,
                            const char **why);

struct zpl_key {
    const char *name;
    zpl_kind_t kind;
    size_t off;         /* offset of the field in the section's struct */
    size_t size;        /* bytes of a string field, or of one list item */
    size_t count_off;   /* ZPL_ZMQ_LIST, ZPL_HOSTPORTS, counted custom lists */
    int max_items;      /* list capacity */
    const char *def;    /* default, parsed like a value from the file */
    double min, max;    /* numbers */
    const char *words;  /* ZPL_WORD: allowed words, space-separated */
    const char *why;    /* ZPL_WORD: reason when the value is none of them */
    int value;          /* ZPL_PREFIXES: what the trie maps prefixes to */
    zpl_parse_fn parse; /* ZPL_CUSTOM */
    bool list;          /* may repeat; a counted list's first value from the
                         * file (or the environment) replaces the default */
    bool counted;       /* ZPL_CUSTOM: count_off holds an int count to reset */
    bool restart;       /* read at start only: a reload keeps the running value
                         * (ZPL_CUSTOM: the bytes [off, off + size)) */
};

typedef struct zpl_section {
    const char *name;
    const zpl_key_t *keys;
    size_t n_keys;
    size_t off; /* plain: offset of the section's struct in the root */
    /* Groups: the struct of the group `name`, created with the defaults on
     * first use; NULL with a reason in *why. */
    void *(*group)(void *root, const char *name, const char **why);
    const char *builtin; /* groups: the one that may be empty */
    /* Cross-key checks once all is read: 0, or -1 with a reason in why. */
    int (*finish)(void *root, char *why, size_t whylen);
} zpl_section_t;

/* Load path into root (already zeroed, tries allocated) following the
 * sections' schemas; env_prefix names the overrides ("FLOODGATE"). Returns
 * 0, or -1 with the error in err. */
int zpl_load(const char *path, const zpl_section_t *const *secs, size_t n_secs,
             const char *env_prefix, void *root, char *err, size_t errlen);

/* Apply the defaults of the keys of a section to target (a group's struct
 * for groups). Returns 0, or -1 with "KEY: reason" in err. */
int zpl_defaults(const zpl_section_t *sec, void *root, void *target, char *err, size_t errlen);

/* For a reload: compare the restart-only keys of the plain sections of two
 * roots loaded with secs; for each that differs, append "section/key" to out
 * (space-separated, truncated to outlen) and copy the running value from
 * old_root into new_root. Returns how many differed. Cannot fail. */
int zpl_keep_restart(const zpl_section_t *const *secs, size_t n_secs, const void *old_root,
                     void *new_root, char *out, size_t outlen);

/* Split a list value on whitespace and commas and call fn on each item.
 * Returns 0, or -1 with fn's reason or "list item too long". */
int zpl_each_item(const char *val, int (*fn)(void *, const char *, const char **), void *arg,
                  const char **why);

/* Check "host:port" (port 0..65535). Returns 0, or -1 with a reason. */
int zpl_check_hostport(const char *s, const char **why);

#endif
