/*
 * catalog.h — writing fashionrec's own tables with their owner's rights.
 */
#ifndef FR_CATALOG_H
#define FR_CATALOG_H

#include "postgres.h"

typedef struct FrCatalogWrite
{
	Oid			saved_user;
	int			saved_context;
	int			guc_nest;
} FrCatalogWrite;

extern Oid	fr_catalog_owner(void);
extern void fr_catalog_begin(FrCatalogWrite *w);
extern void fr_catalog_end(FrCatalogWrite *w);
extern char *fr_current_role_name(void);
extern void fr_require_own_training(int64 model_id);

#endif							/* FR_CATALOG_H */
