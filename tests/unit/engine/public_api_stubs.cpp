// Out-of-line destructors of the public media interfaces (include/tern/media.hpp). libtern
// defines them; this test executable compiles the call media pipeline without libtern, so it
// carries its own copies.
#include <tern/media.hpp>

namespace tern {
AudioSource::~AudioSource() = default;
AudioSink::~AudioSink() = default;
VideoSource::~VideoSource() = default;
VideoSink::~VideoSink() = default;
}  // namespace tern
