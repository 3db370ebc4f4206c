/*
 * progress.h — trainings in progress, visible to other sessions.
 */
#ifndef FR_PROGRESS_H
#define FR_PROGRESS_H

#include "postgres.h"

#include "utils/jsonb.h"

extern void fr_progress_init(void);
extern void fr_training_begin(int64 model_id, const char *algorithm);
extern void fr_training_phase(const char *phase);
extern void fr_training_rows(int64 rows);
extern void fr_training_end(void);
extern void fr_training_push_loss_history(JsonbParseState **info);

#endif							/* FR_PROGRESS_H */
