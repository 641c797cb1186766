/* Names that reach the kernel and the nftables script: bridge names
 * (network create -o com.docker.network.bridge.name, config bridgeName) and
 * the table name (config nftTable).  They are checked once where they come
 * in, and again by nft.c before any of them is written into a ruleset, so
 * that no unchecked text is ever spliced into nft commands. */
#include <string.h>

#include "net/net.h"

#define IFNAMSIZ_MAX 15 /* IFNAMSIZ - 1: the kernel's longest interface name */

/* The kernel's dev_valid_name (net/core/dev.c): what netlink refuses with
 * EINVAL. */
static bool
kernel_valid (const char *name)
{
  if (*name == '\0' || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return false;
  for (const char *p = name; *p; p++)
    if (*p == '/' || *p == ':' || *p == ' ' || (*p >= '\t' && *p <= '\r'))
      return false;
  return true;
}

int
net_bridge_name_check (const char *name, arca_error_t *err)
{
  /* dockerd has no check of its own: it hands the name to netlink and
   * passes the kernel's errno on (libnetwork bridgeInterfaceExists, then
   * the link creation), with these texts and status 500. */
  if (strlen (name) > IFNAMSIZ_MAX)
    return arca_error_set (err, ARCA_ERR_INTERNAL,
                           "failed to check bridge interface existence: numerical result out of range");
  if (!kernel_valid (name))
    return arca_error_set (err, ARCA_ERR_INTERNAL, "invalid argument");
  /* Stricter than dockerd: the name goes into Arca's nftables ruleset as a
   * quoted string, where '"' would end the string, '\' escapes and '*' is a
   * wildcard matching every interface with that prefix; control and
   * non-ASCII bytes are refused too. */
  for (const unsigned char *p = (const unsigned char *) name; *p; p++)
    if (*p < 0x21 || *p > 0x7e || *p == '"' || *p == '\\' || *p == '*')
      return arca_error_set (err, ARCA_ERR_INVALID,
                             "invalid bridge name \"%s\": only printable ASCII without '\"', '\\' or '*' is allowed",
                             name);
  return 0;
}

bool
net_nft_table_name_valid (const char *name)
{
  /* an nft identifier, unquoted in the ruleset: [A-Za-z_][A-Za-z0-9_]* */
  size_t len = strlen (name);
  if (len == 0 || len > IFNAMSIZ_MAX)
    return false;
  for (size_t i = 0; i < len; i++)
    {
      char c = name[i];
      bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
      if (!alpha && (i == 0 || c < '0' || c > '9'))
        return false;
    }
  return true;
}
