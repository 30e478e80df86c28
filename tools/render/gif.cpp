#include "gif.h"

#include <fcntl.h>
#include <gif_lib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

namespace netsweep::render {
namespace {
struct GifCloser {
  GifFileType* gif;
  ~GifCloser() {
    int error = 0;
    if (gif) EGifCloseFile(gif, &error);
  }
};
// giflib's GifQuantizeBuffer keeps the sort axis of its median cut in a
// static variable: two threads quantizing at once race on it (palettes then
// differ from run to run). One quantization at a time.
std::mutex g_quantize_mutex;

std::string gif_error(const std::string& path, int code) {
  const char* msg = GifErrorString(code);
  return path + ": GIF error: " + (msg ? msg : "unknown");
}
}  // namespace

void write_gif(const std::string& path, const std::vector<Image>& frames, int delay) {
  if (frames.empty()) throw RenderError(path + ": no frames to animate");
  const int w = frames[0].width, h = frames[0].height;
  int error = 0;
  // Opened here, not by EGifOpenFileName (which creates files readable by
  // their owner only): the gallery's files get the usual umask-based mode.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) throw RenderError(path + ": cannot create: " + std::strerror(errno));
  GifCloser out{EGifOpenFileHandle(fd, &error)};  // owns fd once it succeeds
  if (!out.gif) {
    ::close(fd);
    throw RenderError(gif_error(path, error));
  }
  GifFileType* gif = out.gif;
  EGifSetGifVersion(gif, true);
  if (EGifPutScreenDesc(gif, w, h, 8, 0, nullptr) == GIF_ERROR) throw RenderError(gif_error(path, gif->Error));
  // NETSCAPE2.0: loop forever.
  const unsigned char loop[3] = {1, 0, 0};
  if (EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE) == GIF_ERROR ||
      EGifPutExtensionBlock(gif, 11, "NETSCAPE2.0") == GIF_ERROR || EGifPutExtensionBlock(gif, 3, loop) == GIF_ERROR ||
      EGifPutExtensionTrailer(gif) == GIF_ERROR)
    throw RenderError(gif_error(path, gif->Error));

  const size_t n = size_t(w) * size_t(h);
  std::vector<GifByteType> r(n), g(n), b(n), indices(n);
  for (const Image& frame : frames) {
    if (frame.width != w || frame.height != h) throw RenderError(path + ": frames differ in size");
    for (size_t i = 0; i < n; ++i) {
      r[i] = frame.pixels[3 * i];
      g[i] = frame.pixels[3 * i + 1];
      b[i] = frame.pixels[3 * i + 2];
    }
    int colors = 256;
    std::vector<GifColorType> palette(256);
    {
      std::lock_guard<std::mutex> lock(g_quantize_mutex);
      if (GifQuantizeBuffer(unsigned(w), unsigned(h), &colors, r.data(), g.data(), b.data(), indices.data(),
                            palette.data()) == GIF_ERROR)
        throw RenderError(path + ": colour quantization failed");
    }
    ColorMapObject* map = GifMakeMapObject(256, palette.data());
    GraphicsControlBlock gcb{};
    gcb.DisposalMode = DISPOSE_DO_NOT;
    gcb.DelayTime = delay;
    gcb.TransparentColor = NO_TRANSPARENT_COLOR;
    GifByteType ext[4];
    const size_t len = EGifGCBToExtension(&gcb, ext);
    const bool ok = EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, int(len), ext) != GIF_ERROR &&
                    EGifPutImageDesc(gif, 0, 0, w, h, false, map) != GIF_ERROR;
    GifFreeMapObject(map);
    if (!ok) throw RenderError(gif_error(path, gif->Error));
    for (int y = 0; y < h; ++y)
      if (EGifPutLine(gif, indices.data() + size_t(y) * size_t(w), w) == GIF_ERROR)
        throw RenderError(gif_error(path, gif->Error));
  }
  const int status = EGifCloseFile(gif, &error);
  out.gif = nullptr;
  if (status == GIF_ERROR) throw RenderError(gif_error(path, error));
}

}  // namespace netsweep::render
