/* libldns, loaded at its first use (util/lazylib.h): DNS message parsing and
 * encoding for the embedded DNS server of user-defined networks; libssl and
 * libcrypto come with it. Include this header instead of the library's: the
 * names below are the library's own, called through the table.
 * dns_container_attach calls arca_lazy_ldns_load before any query can arrive,
 * so that a library that cannot be loaded is a 500 error, never a crash. */
#ifndef ARCA_UTIL_LAZY_LDNS_H
#define ARCA_UTIL_LAZY_LDNS_H

#include <ldns/ldns.h>

#include "util/lazylib.h"

/* Every function of the library Arca calls (a call of one not listed here
 * fails to link: the daemon does not link the library). */
#define ARCA_LAZY_LDNS_FNS(X) \
  X (ldns_dname_new_frm_str) \
  X (ldns_pkt2wire) \
  X (ldns_pkt_free) \
  X (ldns_pkt_get_opcode) \
  X (ldns_pkt_id) \
  X (ldns_pkt_new) \
  X (ldns_pkt_push_rr) \
  X (ldns_pkt_qr) \
  X (ldns_pkt_question) \
  X (ldns_pkt_rd) \
  X (ldns_pkt_set_id) \
  X (ldns_pkt_set_opcode) \
  X (ldns_pkt_set_qr) \
  X (ldns_pkt_set_ra) \
  X (ldns_pkt_set_rcode) \
  X (ldns_pkt_set_rd) \
  X (ldns_rdf2str) \
  X (ldns_rdf_clone) \
  X (ldns_rdf_new_frm_data) \
  X (ldns_rr_clone) \
  X (ldns_rr_get_type) \
  X (ldns_rr_list_rr) \
  X (ldns_rr_list_rr_count) \
  X (ldns_rr_new) \
  X (ldns_rr_owner) \
  X (ldns_rr_push_rdf) \
  X (ldns_rr_set_class) \
  X (ldns_rr_set_owner) \
  X (ldns_rr_set_ttl) \
  X (ldns_rr_set_type) \
  X (ldns_wire2pkt)

typedef struct arca_lazy_ldns
{
  ARCA_LAZY_LDNS_FNS (ARCA_LAZY_FIELD)
} arca_lazy_ldns_t;

/* Loads libldns once; 0, or -1 with a 500 error naming it. */
int arca_lazy_ldns_load (arca_error_t *err);

/* The table, loading the library if nobody has (aborts if it cannot be:
 * a call site that skipped arca_lazy_ldns_load). */
const arca_lazy_ldns_t *arca_lazy_ldns (void);

#ifndef ARCA_LAZY_LDNS_IMPL
#define ldns_dname_new_frm_str (arca_lazy_ldns ()->ldns_dname_new_frm_str)
#define ldns_pkt2wire (arca_lazy_ldns ()->ldns_pkt2wire)
#define ldns_pkt_free (arca_lazy_ldns ()->ldns_pkt_free)
#define ldns_pkt_get_opcode (arca_lazy_ldns ()->ldns_pkt_get_opcode)
#define ldns_pkt_id (arca_lazy_ldns ()->ldns_pkt_id)
#define ldns_pkt_new (arca_lazy_ldns ()->ldns_pkt_new)
#define ldns_pkt_push_rr (arca_lazy_ldns ()->ldns_pkt_push_rr)
#define ldns_pkt_qr (arca_lazy_ldns ()->ldns_pkt_qr)
#define ldns_pkt_question (arca_lazy_ldns ()->ldns_pkt_question)
#define ldns_pkt_rd (arca_lazy_ldns ()->ldns_pkt_rd)
#define ldns_pkt_set_id (arca_lazy_ldns ()->ldns_pkt_set_id)
#define ldns_pkt_set_opcode (arca_lazy_ldns ()->ldns_pkt_set_opcode)
#define ldns_pkt_set_qr (arca_lazy_ldns ()->ldns_pkt_set_qr)
#define ldns_pkt_set_ra (arca_lazy_ldns ()->ldns_pkt_set_ra)
#define ldns_pkt_set_rcode (arca_lazy_ldns ()->ldns_pkt_set_rcode)
#define ldns_pkt_set_rd (arca_lazy_ldns ()->ldns_pkt_set_rd)
#define ldns_rdf2str (arca_lazy_ldns ()->ldns_rdf2str)
#define ldns_rdf_clone (arca_lazy_ldns ()->ldns_rdf_clone)
#define ldns_rdf_new_frm_data (arca_lazy_ldns ()->ldns_rdf_new_frm_data)
#define ldns_rr_clone (arca_lazy_ldns ()->ldns_rr_clone)
#define ldns_rr_get_type (arca_lazy_ldns ()->ldns_rr_get_type)
#define ldns_rr_list_rr (arca_lazy_ldns ()->ldns_rr_list_rr)
#define ldns_rr_list_rr_count (arca_lazy_ldns ()->ldns_rr_list_rr_count)
#define ldns_rr_new (arca_lazy_ldns ()->ldns_rr_new)
#define ldns_rr_owner (arca_lazy_ldns ()->ldns_rr_owner)
#define ldns_rr_push_rdf (arca_lazy_ldns ()->ldns_rr_push_rdf)
#define ldns_rr_set_class (arca_lazy_ldns ()->ldns_rr_set_class)
#define ldns_rr_set_owner (arca_lazy_ldns ()->ldns_rr_set_owner)
#define ldns_rr_set_ttl (arca_lazy_ldns ()->ldns_rr_set_ttl)
#define ldns_rr_set_type (arca_lazy_ldns ()->ldns_rr_set_type)
#define ldns_wire2pkt (arca_lazy_ldns ()->ldns_wire2pkt)
#endif

#endif
