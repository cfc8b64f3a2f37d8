/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The bundle codec: records of small messages packed into one frame's
 * payload (layout in bundle.h). The decoder reads bytes another process
 * sent: no length it finds is used before it was checked against what is
 * left of the payload.
 */
#include "bundle.h"

#include <errno.h>
#include <string.h>

size_t
haq__bundle_put_len(uint8_t *dst, size_t len)
{
	size_t n = 0;
	size_t v = len;

	while (v >= 0x80) {
		dst[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	dst[n++] = (uint8_t)v;
	return n;
}

size_t
haq__bundle_put(uint8_t *dst, const void *msg, size_t len)
{
	size_t n = haq__bundle_put_len(dst, len);

	memcpy(dst + n, msg, len);
	return n + len;
}

/*
 * Read one canonical varint of at most HAQ_BUNDLE_VARINT_MAX bytes from
 * p (left bytes there). Returns its length in bytes, or 0 if it is cut,
 * too long or not canonical.
 */
static size_t
varint_get(const uint8_t *p, size_t left, size_t *value)
{
	size_t v = 0;

	for (size_t i = 0; i < HAQ_BUNDLE_VARINT_MAX && i < left; i++) {
		v |= (size_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			/* A last byte of 0 after others adds nothing. */
			if (i > 0 && p[i] == 0) {
				return 0;
			}
			*value = v;
			return i + 1;
		}
	}
	return 0;
}

/* One record at it: its message, or false if none is whole there. */
static bool
record_get(const uint8_t *p, size_t left, const uint8_t **msg, size_t *len,
	   size_t *used)
{
	size_t n;
	size_t v = 0;

	n = varint_get(p, left, &v);
	if (n == 0 || v == 0 || v > left - n) {
		return false;
	}
	*msg = p + n;
	*len = v;
	*used = n + v;
	return true;
}

long
haq__bundle_check(const uint8_t *p, size_t len)
{
	long count = 0;

	while (len > 0) {
		const uint8_t *msg;
		size_t mlen;
		size_t used;

		if (!record_get(p, len, &msg, &mlen, &used)) {
			return -EBADMSG;
		}
		p += used;
		len -= used;
		count++;
	}
	return count > 0 ? count : -EBADMSG;
}

bool
haq__bundle_next(struct haq_bundle_iter *it, const uint8_t **msg,
		 size_t *len)
{
	size_t used;

	if (it->left == 0 || !record_get(it->p, it->left, msg, len, &used)) {
		return false;
	}
	it->p += used;
	it->left -= used;
	return true;
}
