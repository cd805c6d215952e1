/**
 * The oracle's text convention for kernel bytes (Python's bytes.decode('utf-8', 'backslashreplace')):
 * these vectors were produced by Python itself.
 */
import { describe, expect, it } from 'vitest';
import { kernelBytesToText } from '../lib/kernel/index.js';

const fromBytes = (bytes: number[]): string => String.fromCharCode(...bytes);

describe('kernelBytesToText', () => {
  it('leaves ASCII, TABs and control bytes as they are', () => {
    expect(kernelBytesToText('BPF: \tname\u0001\u007f type_id=1')).toBe('BPF: \tname\u0001\u007f type_id=1');
  });
  it('escapes a byte that is not UTF-8 as \\xNN, like the oracle (dm_raid: relea\\x82ed_stripes)', () => {
    expect(kernelBytesToText(fromBytes([0x72, 0x65, 0x6c, 0x65, 0x61, 0x82, 0x65, 0x64]))).toBe('relea\\x82ed');
  });
  it.each([
    [[202, 128, 48, 127, 109, 244], "\u02800\u007fm\\xf4"],
    [[130, 127, 63, 31, 144, 160, 193], "\\x82\u007f?\u001f\\x90\\xa0\\xc1"],
    [[192, 169, 223, 128, 224], "\\xc0\\xa9\u07c0\\xe0"],
    [[244, 144, 144, 226, 226, 159, 239, 237], "\\xf4\\x90\\x90\\xe2\\xe2\\x9f\\xef\\xed"],
    [[60, 195, 194, 215, 128, 160, 191, 144, 130, 242], "<\\xc3\\xc2\u05c0\\xa0\\xbf\\x90\\x82\\xf2"],
    [[159, 143, 240, 177, 144, 192, 224, 193, 144, 255, 143], "\\x9f\\x8f\\xf0\\xb1\\x90\\xc0\\xe0\\xc1\\x90\\xff\\x8f"],
    [[193, 142, 191, 240, 77, 194, 160], "\\xc1\\x8e\\xbf\\xf0M\u00a0"],
    [[169], "\\xa9"],
    [[194, 189, 160, 27, 144], "\u00bd\\xa0\u001b\\x90"],
    [[191, 144, 128, 225, 239, 191, 194], "\\xbf\\x90\\x80\\xe1\\xef\\xbf\\xc2"],
    [[189, 128, 192, 130, 186, 192, 238, 159, 191], "\\xbd\\x80\\xc0\\x82\\xba\\xc0\ue7ff"],
    [[245, 82, 224, 185, 9, 159], "\\xf5R\\xe0\\xb9\t\\x9f"],
    [[133, 195, 160, 239, 223, 205, 160, 255, 9, 143, 223], "\\x85\u00e0\\xef\\xdf\u0360\\xff\t\\x8f\\xdf"],
    [[228, 178, 186, 191, 223, 245, 65, 191, 130, 61], "\u4cba\\xbf\\xdf\\xf5A\\xbf\\x82="],
    [[223, 169, 239, 144, 130, 195, 14], "\u07e9\uf402\\xc3\u000e"],
    [[144, 74, 245], "\\x90J\\xf5"],
    [[79, 193, 191, 193, 223, 108, 224, 226, 160, 143, 31], "O\\xc1\\xbf\\xc1\\xdfl\\xe0\u280f\u001f"],
    [[215, 66, 9, 93, 194, 245], "\\xd7B\t]\\xc2\\xf5"],
    [[127, 245, 191, 29, 172, 191, 9, 128, 223, 143], "\u007f\\xf5\\xbf\u001d\\xac\\xbf\t\\x80\u07cf"],
    [[245, 226, 130, 103, 70, 144, 128, 244, 159], "\\xf5\\xe2\\x82gF\\x90\\x80\\xf4\\x9f"],
    [[79, 187], "O\\xbb"],
    [[193, 112, 191], "\\xc1p\\xbf"],
    [[83, 114, 244, 206, 223, 130, 9], "Sr\\xf4\\xce\u07c2\t"],
    [[143, 240, 237, 128, 160, 53], "\\x8f\\xf0\ud0205"],
    [[244, 132, 255, 130, 169], "\\xf4\\x84\\xff\\x82\\xa9"],
    [[137, 45, 42, 160, 192, 239, 213], "\\x89-*\\xa0\\xc0\\xef\\xd5"],
    [[1, 226, 82, 169, 159], "\u0001\\xe2R\\xa9\\x9f"],
    [[224, 169, 9, 18, 223, 226, 54, 244, 144, 157, 160], "\\xe0\\xa9\t\u0012\\xdf\\xe26\\xf4\\x90\\x9d\\xa0"],
    [[193, 191, 66, 130, 127, 240], "\\xc1\\xbfB\\x82\u007f\\xf0"],
    [[237, 237, 169, 143, 189, 165, 159, 169, 240], "\\xed\\xed\\xa9\\x8f\\xbd\\xa5\\x9f\\xa9\\xf0"],
    [[223, 65], "\\xdfA"],
    [[130, 1], "\\x82\u0001"],
    [[159, 130, 194, 240, 255, 194, 244], "\\x9f\\x82\\xc2\\xf0\\xff\\xc2\\xf4"],
    [[9, 117, 1, 189, 192, 25, 226, 65, 128], "\tu\u0001\\xbd\\xc0\u0019\\xe2A\\x80"],
    [[47, 128, 245, 128, 120, 224, 144, 240, 237], "/\\x80\\xf5\\x80x\\xe0\\x90\\xf0\\xed"],
    [[223], "\\xdf"],
    [[239, 159], "\\xef\\x9f"],
    [[65, 255, 191, 255, 237, 144, 223, 130, 8, 128], "A\\xff\\xbf\\xff\\xed\\x90\u07c2\b\\x80"],
    [[230, 198, 224, 130, 130, 67, 172, 186, 255], "\\xe6\\xc6\\xe0\\x82\\x82C\\xac\\xba\\xff"],
    [[65, 230, 194, 240, 239, 239, 61], "A\\xe6\\xc2\\xf0\\xef\\xef="],
  ])('matches Python on %j', (bytes, text) => {
    expect(kernelBytesToText(fromBytes(bytes as number[]))).toBe(text);
  });
});
