/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The services every context has, in the order they connect: the one
 * place that names them, so that the core (ctx.c) names none.
 */
#include "haq-int.h"

const struct haq_service_type haq__ctx_services[] = {
	{haq__conn_create},
	{haq__quorum_create},
	{haq__config_create},
	{NULL},
};
