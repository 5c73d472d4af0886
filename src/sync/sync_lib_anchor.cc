// Keeps ringkit_sync a valid library while it has few sources.
