// Frames (and neuron maps, and parameter snapshots) on their way into the
// results file: handed over in the stored type, compressed in parallel with
// the destination dataset's own filter pipeline (byte shuffle, then deflate)
// and written chunk by chunk (H5Dwrite_chunk) by one writer thread; or, for
// unfiltered data, written as a slab of a 1-D dataset by that thread. Host only.
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
  explicit FramePipeline(const std::string& where);
  ~FramePipeline();  // stops the threads (what is queued is still written)
  FramePipeline(const FramePipeline&) = delete;
  FramePipeline& operator=(const FramePipeline&) = delete;

  // One chunk of `dataset` (shuffle + deflate, one chunk per item), whose
  // first element is at `offset`; element_size: bytes per stored value.
  // Blocks while too much is in flight; throws if the writer has failed.
  void enqueue_chunk(hid_t dataset, std::vector<hsize_t> offset, size_t element_size,
                     std::vector<unsigned char> bytes);
  // Elements [first, first + n) of a 1-D unfiltered dataset of `type`.
  void enqueue_slab(hid_t dataset, hid_t type, hsize_t first, std::vector<unsigned char> bytes, size_t element_size);
  // Waits until everything is written; throws the writer's error, if any.
  void finish();

 private:
  struct Item {
    hid_t dataset = -1, type = -1;  // type: slabs only
    std::vector<hsize_t> offset;     // chunk: its first element; slab: {first}
    size_t element_size = 0;
    bool chunk = true;
    std::vector<unsigned char> bytes;  // raw, then (chunks) the filtered chunk
    uint32_t filter_mask = 0;          // bit 1: deflate skipped (it would not shrink the chunk)
    size_t raw_size = 0;
  };
  void enqueue(Item item);
  void filter(Item& item) const;
  void write(Item& item);
  void compress_loop();
  void write_loop();
  void stop();

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
