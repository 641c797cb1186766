/* Placeholder route table; filled in by its owner. */
#include "api/routes.h"

const arca_route_t arca_archive_routes[] = { { NULL, NULL, NULL, 0 } };
