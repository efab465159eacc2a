/*
 * The one header bindgen reads for xen-sys: every Xen tools header xenadm uses.
 * LIBXL_API_VERSION is left undefined so libxl.h declares the real (newest) symbols,
 * which are what dlopen finds; its inline compatibility wrappers do not exist at run time.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <xentoollog.h>
#include <xenctrl.h>
#include <xenevtchn.h>
#include <xenguest.h>
#include <xenstore.h>
#include <xenstat.h>
#include <libxl.h>
#include <libxl_utils.h>
