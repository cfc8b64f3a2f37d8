// SPDX-License-Identifier: LGPL-2.1-or-later
// The public header compiles alone in C++ too.
#include <haq/haq.h>

int
main()
{
	haq_ctx_t *ctx = nullptr;
	return ctx != nullptr;
}
