// Frames on their way into the results file's chunked `frames` dataset:
// handed over in the stored type, compressed in parallel with the dataset's
// own filter pipeline (byte shuffle, then deflate), and written chunk by chunk
// (H5Dwrite_chunk) by one writer thread. Host only.
#pragma once

#include <hdf5.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace netsweep {

class FramePipeline {
 public:
  // dataset: (networks, frames, ...) chunked one frame per chunk, with the
  // shuffle and deflate filters; element_size: bytes per stored value.
  FramePipeline(hid_t dataset, size_t element_size, const std::string& where);
  ~FramePipeline();  // stops the threads (what is queued is still written)
  FramePipeline(const FramePipeline&) = delete;
  FramePipeline& operator=(const FramePipeline&) = delete;

  // One frame's stored bytes; blocks while too much is in flight. Throws if
  // the writer has failed (e.g. the disk is full).
  void enqueue(int index, int frame, std::vector<unsigned char> bytes);
  // Waits until every frame is written; throws the writer's error, if any.
  void finish();

 private:
  struct Item {
    int index, frame;
    std::vector<unsigned char> bytes;  // raw, then the filtered chunk
    uint32_t filter_mask = 0;          // bit 1: deflate skipped (it would not shrink the chunk)
    size_t raw_size = 0;
  };
  void filter(Item& item) const;
  void compress_loop();
  void write_loop();
  void stop();

  hid_t dataset_;
  size_t element_size_;
  std::string where_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Item> raw_, ready_;
  size_t queued_bytes_ = 0;
  int compressing_ = 0;  // items taken by compressor threads
  bool closing_ = false;
  std::string error_;
  std::vector<std::thread> compressors_;
  std::thread writer_;
};

}  // namespace netsweep
