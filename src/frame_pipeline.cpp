#include "frame_pipeline.h"

#include <zlib.h>

#include "h5.h"
#include "netsweep/results.h"

namespace netsweep {
namespace {
// Frames in flight between the trainers and the writer thread, at most.
constexpr size_t kMaxQueuedBytes = size_t(256) << 20;
}  // namespace

FramePipeline::FramePipeline(hid_t dataset, size_t element_size, const std::string& where)
    : dataset_(dataset), element_size_(element_size), where_(where) {
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned t = 0; t < threads; ++t) compressors_.emplace_back([this] { compress_loop(); });
  writer_ = std::thread([this] { write_loop(); });
}

FramePipeline::~FramePipeline() { stop(); }

void FramePipeline::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closing_ = true;
  }
  changed_.notify_all();
  for (auto& t : compressors_)
    if (t.joinable()) t.join();
  if (writer_.joinable()) writer_.join();
}

void FramePipeline::finish() {
  stop();
  if (!error_.empty()) throw ResultsError(error_);
}

void FramePipeline::enqueue(int index, int frame, std::vector<unsigned char> bytes) {
  Item item{index, frame, std::move(bytes)};
  item.raw_size = item.bytes.size();
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return queued_bytes_ < kMaxQueuedBytes || !error_.empty(); });
  if (!error_.empty()) throw ResultsError(error_);
  queued_bytes_ += item.raw_size;
  raw_.push_back(std::move(item));
  changed_.notify_all();
}

// HDF5's shuffle filter (byte k of every element together), then deflate level 1.
void FramePipeline::filter(Item& item) const {
  const size_t n = item.bytes.size() / element_size_;
  std::vector<unsigned char> shuffled(item.bytes.size());
  for (size_t e = 0; e < n; ++e)
    for (size_t b = 0; b < element_size_; ++b) shuffled[b * n + e] = item.bytes[e * element_size_ + b];
  uLongf size = compressBound(uLong(shuffled.size()));
  std::vector<unsigned char> packed(size);
  if (compress2(packed.data(), &size, shuffled.data(), uLong(shuffled.size()), 1) == Z_OK && size < shuffled.size()) {
    packed.resize(size);
    item.bytes = std::move(packed);
    item.filter_mask = 0;
  } else {
    item.bytes = std::move(shuffled);
    item.filter_mask = 1u << 1;  // deflate (filter 1) not applied
  }
}

void FramePipeline::compress_loop() {
  for (;;) {
    Item item;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] { return !raw_.empty() || closing_; });
      if (raw_.empty()) return;
      item = std::move(raw_.front());
      raw_.pop_front();
      ++compressing_;
    }
    filter(item);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      --compressing_;
      ready_.push_back(std::move(item));
    }
    changed_.notify_all();
  }
}

void FramePipeline::write_loop() {
  h5::silence_errors();
  for (;;) {
    Item item;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      // Done only when nothing is left anywhere in the pipeline.
      changed_.wait(lock, [&] { return !ready_.empty() || (closing_ && raw_.empty() && compressing_ == 0); });
      if (ready_.empty()) return;
      item = std::move(ready_.front());
      ready_.pop_front();
    }
    try {
      const hsize_t offset[5] = {hsize_t(item.index), hsize_t(item.frame), 0, 0, 0};  // the chunk's first element
      h5::check(H5Dwrite_chunk(dataset_, H5P_DEFAULT, item.filter_mask, offset, item.bytes.size(), item.bytes.data()),
                where_ + ": cannot write a frame (disk full?)");
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = e.what();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queued_bytes_ -= item.raw_size;
    }
    changed_.notify_all();
  }
}

}  // namespace netsweep
