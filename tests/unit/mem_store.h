/* mem_store: a store in process memory that follows every rule of store.h, so the unit tests
 * of the protocol and the sources run without D-Bus. */
#ifndef DCK_TEST_MEM_STORE_H
#define DCK_TEST_MEM_STORE_H

#include "store.h"

struct store *mem_store_new(void);

#endif
