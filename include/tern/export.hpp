// Symbol visibility of the public API (libtern is built with hidden visibility).
#pragma once

#if defined(_WIN32)
#define TERN_EXPORT
#else
#define TERN_EXPORT __attribute__((visibility("default")))
#endif
