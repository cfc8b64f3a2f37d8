/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one little-endian codec of every libhaq wire format.
 *
 * Explicit byte shifts: correct on any host byte order and never an
 * unaligned load, since frames sit wherever corosync put them. The hot
 * path's haq__le64_load() gets the same from one memcpy.
 */
#ifndef HAQ_LE_H
#define HAQ_LE_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

static inline void
haq__put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void
haq__put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void
haq__put_le64(uint8_t *p, uint64_t v)
{
	haq__put_le32(p, (uint32_t)v);
	haq__put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t
haq__get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t
haq__get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t
haq__get_le64(const uint8_t *p)
{
	return (uint64_t)haq__get_le32(p) | (uint64_t)haq__get_le32(p + 4) << 32;
}

/* haq__get_le64() as one load where the host allows it. */
static inline uint64_t
haq__le64_load(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

/* Store v little-endian with one store where the host allows it. */
static inline void
haq__le64_store(uint8_t *p, uint64_t v)
{
	uint64_t le = htole64(v);

	memcpy(p, &le, sizeof(le));
}

#endif /* HAQ_LE_H */
