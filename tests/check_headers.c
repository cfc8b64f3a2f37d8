/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The public header compiles alone (nothing included before it). */
#include <haq/haq.h>

int
main(void)
{
	return HAQ_VERSION_HEX == 0;
}
