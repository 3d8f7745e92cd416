"""UV textures: layout, symmetry, a known texture extracted back from our own
render (seen and mirrored texels, no holes), textured OBJ and GLB files."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest
import trimesh

from tfface.layers import Renderer
from tfface.morphable import default_model
from tfface.inference.texture import extract_texture, split_at_uv_seams, uv_layout, vertex_symmetry

SIZE = 256


@pytest.fixture(scope="module")
def painted():
    """The default model with a known, mirror-symmetric albedo painted in UV
    space (a function of |u - 0.5| and v), no albedo modes; rendered frontal
    and turned 40 degrees either way, under ambient light."""
    model = default_model()
    vertex_ids, uv, _ = split_at_uv_seams(model)
    per_vertex = np.zeros((model.num_vertices, 2))
    per_vertex[vertex_ids] = uv
    u, v = np.abs(per_vertex[:, 0] - 0.5), per_vertex[:, 1]
    colour = np.stack([0.3 + 0.5 * v, 0.2 + 0.6 * u, 0.4 + 0.2 * np.cos(6 * v)], 1)
    painted = dataclasses.replace(model, mean_albedo=colour,
                                  albedo_basis=np.zeros((3 * model.num_vertices, 0)))
    renderer = Renderer.from_model(painted, (SIZE, SIZE))
    params = renderer.layout.zeros(3)
    params[1, renderer.layout.slices["rotation"]] = np.radians([0, 40, 0])
    params[2, renderer.layout.slices["rotation"]] = np.radians([0, -40, 0])
    out = renderer(params)
    photos = (np.clip(out["image"].numpy(), 0, 1) * 255 + 0.5).astype(np.uint8)
    return painted, renderer, params, photos, colour


def test_uv_layout_barycentrics_reproduce_texel_centres():
    model = default_model()
    layout = uv_layout(model, 128)
    assert np.allclose(layout.barycentric.sum(1), 1) and layout.barycentric.min() >= 0
    corners = model.uv[model.uv_triangles[layout.triangle]]
    uv = np.einsum("nk,nkc->nc", layout.barycentric, corners)
    centres = np.stack([(layout.cols + 0.5) / 128, 1 - (layout.rows + 0.5) / 128], 1)
    inside = layout.barycentric.min(1) > 1e-6  # texels whose centre is inside a triangle
    assert np.abs(uv[inside] - centres[inside]).max() < 1e-6
    assert 0.5 < len(layout.rows) / 128 ** 2 < 1.0


def test_vertex_symmetry_is_an_involution_across_the_midline():
    model = default_model()
    mirror = vertex_symmetry(model)
    assert np.mean(mirror[mirror] == np.arange(model.num_vertices)) > 0.95
    shape = model.mean_shape
    reflected = shape[mirror] * [-1, 1, 1] + [2 * model.center[0], 0, 0]
    assert np.median(np.linalg.norm(reflected - shape, axis=1)) < 1.0  # mm
    left, right = model.landmark_indices[36], model.landmark_indices[45]  # outer eye corners
    assert np.linalg.norm(shape[mirror[left]] - shape[right]) < 3.0


@pytest.mark.parametrize("view", [0, 1])
def test_known_texture_comes_back(painted, view):
    model, renderer, params, photos, colour = painted
    texture = extract_texture(photos[view], model, renderer, params[view],
                              np.eye(2, 3), size=SIZE)
    layout = uv_layout(model, SIZE)
    truth = layout.interpolation @ colour                     # [N, 3], 0..1
    albedo = texture.albedo[layout.rows, layout.cols] / 255.0
    source = texture.source[layout.rows, layout.cols]
    seen, mirrored = source == 1, source == 2
    assert seen.mean() > 0.3
    assert np.abs(albedo[seen] - truth[seen]).mean() < 0.04
    if view == 1:  # the far side of the turned face comes from its mirror image
        assert mirrored.mean() > 0.05
        assert np.abs(albedo[mirrored] - truth[mirrored]).mean() < 0.08
    charts = texture.photo[layout.rows, layout.cols]
    assert (charts.max(1) > 10).all()  # no black holes on the charts


def test_textured_obj_and_glb_files(painted, tmp_path):
    from tfface.mesh_io import write_textured_mesh
    model, renderer, params, photos, _ = painted
    texture = extract_texture(photos[0], model, renderer, params[0], np.eye(2, 3), size=64)
    vertex_ids, uv, triangles = split_at_uv_seams(model)
    vertices = model.mean_shape[vertex_ids]
    write_textured_mesh(str(tmp_path / "face.obj"), vertices, triangles, uv, texture.photo)
    write_textured_mesh(str(tmp_path / "face.glb"), vertices, triangles, uv, texture.photo)
    mtl = (tmp_path / "face.mtl").read_text()
    image = next(line.split()[1] for line in mtl.splitlines() if line.startswith("map_Kd"))
    assert (tmp_path / image).is_file()
    assert sorted(os.listdir(tmp_path)) == ["face.glb", "face.mtl", "face.obj", image]
    obj = trimesh.load(str(tmp_path / "face.obj"), process=False)
    assert obj.visual.uv.shape == (len(vertices), 2) and 0 <= obj.visual.uv.min()
    scene = trimesh.load(str(tmp_path / "face.glb"))
    mesh, = scene.geometry.values()
    assert mesh.visual.material.baseColorTexture.size == (64, 64)
    assert np.allclose(mesh.visual.uv, uv, atol=1e-6) and len(mesh.faces) == len(triangles)


def test_views_accumulate_into_one_texture(painted):
    from tfface.inference.texture import TextureAccumulator
    model, renderer, params, photos, colour = painted
    layout = uv_layout(model, SIZE)
    truth = layout.interpolation @ colour
    views = [extract_texture(photo, model, renderer, p, np.eye(2, 3), size=SIZE)
             for photo, p in zip(photos[1:], params[1:])]  # turned left, turned right
    accumulator = TextureAccumulator()
    for view in views:
        accumulator.add(view)
    merged = accumulator.result()
    seen = [(v.source[layout.rows, layout.cols] == 1).mean() for v in views]
    merged_seen = merged.source[layout.rows, layout.cols] == 1
    assert merged_seen.mean() > max(seen) + 0.05  # each side from the view that saw it
    weights = np.stack([v.weight for v in views])
    assert np.allclose(merged.weight, weights.max(0))
    albedo = merged.albedo[layout.rows, layout.cols] / 255.0
    assert np.abs(albedo[merged_seen] - truth[merged_seen]).mean() < 0.04


def test_texture_without_uv_layout_is_refused_before_any_photo(tmp_path, capsys):
    from tfface.cli import main
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.png").write_bytes(b"never read")
    out = tmp_path / "out"
    assert main(["reconstruct", str(photos), "--morphable-model", "demo", "--texture", "64",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no UV layout" in err
    assert not out.exists()


def test_an_overhanging_outline_does_not_take_the_background(painted, monkeypatch):
    """The turned face rendered over pure green, its texture extracted with
    a mesh 4 % too large (a fitted outline overhanging the face): with the
    silhouette margin almost no texel takes the green background, without
    it (margin 0) over ten times as many do (0.7 % and 8.6 % of the charts
    here). Holes inside the face (eye and mouth openings) are not
    background."""
    import tfface.inference.texture as texture
    model, renderer, params, _, _ = painted
    out = renderer(params[1:2])
    mask = np.clip(out["mask"].numpy()[0], 0, 1)
    photo = np.clip(out["image"].numpy()[0], 0, 1) * mask + [0.0, 1.0, 0.0] * (1 - mask)
    photo = (photo * 255 + 0.5).astype(np.uint8)
    larger = params[1].copy()
    larger[renderer.layout.slices["scale"]] += np.log(1.04)
    layout = uv_layout(model, SIZE)

    def green_texels() -> float:
        extracted = extract_texture(photo, model, renderer, larger, np.eye(2, 3), size=SIZE)
        colour = extracted.photo[layout.rows, layout.cols].astype(float)
        seen = extracted.source[layout.rows, layout.cols] > 0
        return np.mean(seen & (colour[:, 1] > 200) & (colour[:, 0] < 60))

    with_margin = green_texels()
    monkeypatch.setattr(texture, "SILHOUETTE_MARGIN", 0.0)
    without = green_texels()
    assert without > 0.01 and with_margin < 0.25 * without, (with_margin, without)
    ids = np.full((9, 9), 7)
    ids[0], ids[4, 4] = -1, -1  # background along the top edge; a hole inside
    distance = texture.outline_distance(ids)
    assert distance[0].max() == 0 and distance[4, 4] > 0 and distance[8, 4] > distance[1, 4]


def _gltf_document(path) -> dict:
    """The JSON chunk of a binary glTF file (its header: magic, version, length)."""
    import json
    import struct
    data = open(path, "rb").read()
    length, kind = struct.unpack("<I4s", data[12:20])
    assert data[:4] == b"glTF" and kind == b"JSON"
    return json.loads(data[20:20 + length])


@pytest.mark.parametrize("textured", [False, True])
def test_glb_is_in_metres_with_normals(tmp_path, textured):
    """glTF's unit is the metre: ICT-FaceKit's head (mm) is 0.10-0.25 m
    across in x (the face ~0.15 m, with the ears ~0.18 m), not 180 m; and
    its normals point out of the face (the nose tip's towards the viewer)."""
    from tfface.mesh_io import write_mesh, write_textured_mesh
    from tfface.morphable import default_model
    model = default_model()
    path = str(tmp_path / "face.glb")
    if textured:
        vertex_ids, uv, triangles = split_at_uv_seams(model)
        write_textured_mesh(path, model.mean_shape[vertex_ids], triangles, uv,
                            np.full((8, 8, 3), 128, np.uint8), model.units)
    else:
        write_mesh(path, model.mean_shape, model.triangles, np.full((model.num_vertices, 3), 0.5),
                   model.units)
    attributes = _gltf_document(path)["meshes"][0]["primitives"][0]["attributes"]
    assert "NORMAL" in attributes
    mesh, = trimesh.load(path).geometry.values()
    assert 0.10 < mesh.extents[0] < 0.25, mesh.extents
    nose = int(np.argmax(mesh.vertices[:, 2]))
    assert mesh.vertex_normals[nose, 2] > 0.5
