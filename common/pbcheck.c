#include "common/pbcheck.h"

size_t pb_varint(const uint8_t *p, size_t n, uint64_t *v)
{
    *v = 0;
    for (size_t i = 0; i < n && i < 10; i++) {
        *v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80))
            return i + 1;
    }
    return 0;
}

/* The descriptor of field fn when it holds a message, else NULL. */
static const ProtobufCMessageDescriptor *s_sub(const ProtobufCMessageDescriptor *desc, uint32_t fn)
{
    const ProtobufCFieldDescriptor *f =
        desc ? protobuf_c_message_descriptor_get_field(desc, (unsigned)fn) : NULL;
    return f && f->type == PROTOBUF_C_TYPE_MESSAGE ? f->descriptor : NULL;
}

int pb_walk(const uint8_t *p, size_t size, pb_field_cb each, void *ctx)
{
    size_t off = 0;
    while (off < size) {
        uint64_t tag, v = 0;
        size_t k = pb_varint(p + off, size - off, &tag);
        if (!k || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
            return -1;
        off += k;
        const uint8_t *val = NULL;
        switch (tag & 7) {
        case 0:
            if (!(k = pb_varint(p + off, size - off, &v)))
                return -1;
            off += k;
            break;
        case 1:
        case 5: {
            size_t w = (tag & 7) == 1 ? 8 : 4;
            if (size - off < w)
                return -1;
            off += w;
            break;
        }
        case 2:
            if (!(k = pb_varint(p + off, size - off, &v)) || v > size - off - k)
                return -1;
            val = p + off + k;
            off += k + (size_t)v;
            break;
        default: return -1;
        }
        int rc = each ? each((uint32_t)(tag >> 3), (unsigned)(tag & 7), v, val, ctx) : 0;
        if (rc)
            return rc;
    }
    return 0;
}

/* pb_walk's callback of pb_wellformed: a field holding a message is
 * well-formed too. */
static int s_check_sub(uint32_t fn, unsigned wt, uint64_t v, const uint8_t *val, void *ctx)
{
    const ProtobufCMessageDescriptor *sub = wt == 2 ? s_sub(ctx, fn) : NULL;
    return sub && pb_wellformed(sub, val, (size_t)v) < 0 ? -1 : 0;
}

int pb_wellformed(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t size)
{
    return pb_walk(p, size, s_check_sub, (void *)desc) < 0 ? -1 : 0;
}
