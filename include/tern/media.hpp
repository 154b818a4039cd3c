// Tern public API: audio and video frames, and the sources and sinks an app
// implements to feed a call and to receive what the peer sends.
//
// Threading: sources and sinks are called on the call's media thread (never the
// network thread, never the XMPP thread), one call at a time per object, in real
// time: a source must return promptly (return the latest camera frame, or
// silence, rather than wait). An object may be shared by several calls only if
// it is thread-safe itself. Once Call::hangUp() has returned or the call has
// ended and its last handle is gone, the call no longer touches them.
#pragma once

#include <tern/export.hpp>

#include <cstddef>
#include <cstdint>

namespace tern {

/// PCM format: 48 kHz signed 16-bit, interleaved when stereo.
struct AudioFormat {
    int sampleRate = 48000;  ///< only 48000 is supported
    int channels = 1;        ///< 1 or 2
    int frameMs = 20;        ///< 10 or 20
    std::size_t samplesPerChannel() const { return static_cast<std::size_t>(sampleRate / 1000 * frameMs); }
};

/// What a decoded audio frame is made of.
struct AudioFrameInfo {
    bool concealed = false;  ///< invented by loss concealment (no packet arrived in time)
    bool recovered = false;  ///< rebuilt from the next packet's in-band FEC
    bool silence = false;    ///< nothing received yet, or the peer is muted / in DTX
};

class TERN_EXPORT AudioSource {
public:
    virtual ~AudioSource();
    /// Asked once when the call starts its media.
    virtual AudioFormat format() const { return {}; }
    /// Fills one frame: format().samplesPerChannel() * channels samples. Called
    /// every frameMs by the media thread.
    virtual void readAudio(std::int16_t* pcm, std::size_t samplesPerChannel) = 0;
};

class TERN_EXPORT AudioSink {
public:
    virtual ~AudioSink();
    virtual AudioFormat format() const { return {}; }
    /// One decoded frame, every frameMs, also while nothing arrives (then
    /// info.silence or info.concealed tells so): the stream never stalls.
    virtual void writeAudio(const std::int16_t* pcm, std::size_t samplesPerChannel, const AudioFrameInfo& info) = 0;
};

/// A planar I420 (YUV 4:2:0) picture: a view, not owning its planes.
struct VideoFrame {
    int width = 0;
    int height = 0;
    const std::uint8_t* y = nullptr;
    const std::uint8_t* u = nullptr;
    const std::uint8_t* v = nullptr;
    int strideY = 0;
    int strideU = 0;
    int strideV = 0;
    std::int64_t timestampUs = 0;  ///< capture time (source) or the sender's clock (sink)
};

/// A writable I420 picture the engine hands to a video source.
struct VideoBuffer {
    int width = 0;
    int height = 0;
    std::uint8_t* y = nullptr;
    std::uint8_t* u = nullptr;
    std::uint8_t* v = nullptr;
    int strideY = 0;
    int strideU = 0;
    int strideV = 0;
};

struct VideoFormat {
    int width = 640;
    int height = 480;
    int fps = 30;
};

class TERN_EXPORT VideoSource {
public:
    virtual ~VideoSource();
    virtual VideoFormat format() const { return {}; }
    /// Fills `frame` (format().width x height) with the next picture; false when
    /// there is none this time (the previous one is not repeated). Called
    /// format().fps times a second by the media thread.
    virtual bool readVideo(VideoBuffer& frame) = 0;
};

class TERN_EXPORT VideoSink {
public:
    virtual ~VideoSink();
    /// One decoded picture, valid only during the call.
    virtual void writeVideo(const VideoFrame& frame) = 0;
};

}  // namespace tern
