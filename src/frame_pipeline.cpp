#include "frame_pipeline.h"

#include <zlib.h>

#include "h5.h"
#include "netsweep/results.h"

namespace netsweep {
namespace {
// Frames in flight between the trainers and the writer thread, at most.
constexpr size_t kMaxQueuedBytes = size_t(256) << 20;
}  // namespace

FramePipeline::FramePipeline(const std::string& where) : where_(where) {
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

void FramePipeline::enqueue_chunk(hid_t dataset, std::vector<hsize_t> offset, size_t element_size,
                                  std::vector<unsigned char> bytes) {
  Item item;
  item.dataset = dataset;
  item.offset = std::move(offset);
  item.element_size = element_size;
  item.bytes = std::move(bytes);
  enqueue(std::move(item));
}

void FramePipeline::enqueue_slab(hid_t dataset, hid_t type, hsize_t first, std::vector<unsigned char> bytes,
                                 size_t element_size) {
  Item item;
  item.dataset = dataset;
  item.type = type;
  item.offset = {first};
  item.element_size = element_size;
  item.chunk = false;
  item.bytes = std::move(bytes);
  enqueue(std::move(item));
}

void FramePipeline::enqueue(Item item) {
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
  if (!item.chunk) return;  // slabs are written as they are
  const size_t width = item.element_size, n = item.bytes.size() / width;
  std::vector<unsigned char> shuffled(item.bytes.size());
  for (size_t e = 0; e < n; ++e)
    for (size_t b = 0; b < width; ++b) shuffled[b * n + e] = item.bytes[e * width + b];
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

void FramePipeline::write(Item& item) {
  if (item.chunk) {
    h5::check(H5Dwrite_chunk(item.dataset, H5P_DEFAULT, item.filter_mask, item.offset.data(), item.bytes.size(),
                             item.bytes.data()),
              where_ + ": cannot write a frame (disk full?)");
    return;
  }
  const hsize_t count = item.bytes.size() / item.element_size;
  h5::Handle file_space(H5Dget_space(item.dataset), H5Sclose, where_ + ": dataspace");
  h5::check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, item.offset.data(), nullptr, &count, nullptr),
            where_ + ": slab out of range");
  h5::Handle mem_space(H5Screate_simple(1, &count, nullptr), H5Sclose, where_ + ": memory space");
  h5::check(H5Dwrite(item.dataset, item.type, mem_space, file_space, H5P_DEFAULT, item.bytes.data()),
            where_ + ": cannot write parameter snapshots (disk full?)");
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
      write(item);
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
