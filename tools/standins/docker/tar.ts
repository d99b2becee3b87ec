/** A minimal ustar writer: enough to hand files to the engine's archive API (`putArchive`). */

export interface TarFile {
  /** Path inside the archive (a leading "/" is dropped). */
  name: string;
  content: Buffer;
  mode: number;
}

function header(file: TarFile): Buffer {
  const h = Buffer.alloc(512);
  let name = file.name.replace(/^\/+/, "");
  let prefix = "";
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf("/", 155);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
  }
  const put = (value: string, offset: number, length: number) => h.write(value, offset, length, "utf8");
  const octal = (n: number, offset: number, length: number) =>
    put(n.toString(8).padStart(length - 1, "0") + "\0", offset, length);
  put(name, 0, 100);
  octal(file.mode & 0o7777, 100, 8);
  octal(0, 108, 8); // uid
  octal(0, 116, 8); // gid
  octal(file.content.length, 124, 12);
  octal(Math.floor(Date.now() / 1000), 136, 12);
  put("        ", 148, 8); // checksum placeholder
  put("0", 156, 1); // regular file
  put("ustar\0", 257, 6);
  put("00", 263, 2);
  put(prefix, 345, 155);
  const sum = h.reduce((a, b) => a + b, 0);
  put(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8);
  return h;
}

export function tarOf(files: TarFile[]): Buffer {
  const parts = files.flatMap((f) => [
    header(f),
    f.content,
    Buffer.alloc((512 - (f.content.length % 512)) % 512),
  ]);
  return Buffer.concat([...parts, Buffer.alloc(1024)]);
}
